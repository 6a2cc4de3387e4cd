import { sql, type Kysely } from 'kysely';
import type { Connection, SqlDialectName } from './connect.js';
import { migrateToLatest } from './migrations.js';
import type { Database, ManifestRow, NewManifest, Repository, Upload } from './schema.js';

export interface Page {
  /** Exclusive lower bound (lexical). */
  last?: string;
  limit?: number;
}

export interface ManifestReference {
  kind: 'blob' | 'manifest';
  digest: string;
}

/** Either the stored manifest, or the references absent from the repository (and nothing written). */
/**
 * The stored manifest; or the references absent from the repository; or `tagImmutable` when the
 * tag names another manifest and the caller said it may not move. Nothing is written unless stored.
 */
export type PutManifestResult =
  | { manifest: ManifestRow; missing?: undefined; tagImmutable?: undefined }
  | { manifest?: undefined; missing: ManifestReference[]; tagImmutable?: undefined }
  | { manifest?: undefined; missing?: undefined; tagImmutable: true };

/** Thrown inside the putManifest transaction to roll it back when an immutable tag is taken. */
class ImmutableTagTaken extends Error {}

export type ReferrerRow = Pick<ManifestRow, 'digest' | 'media_type' | 'size' | 'artifact_type' | 'config_media_type' | 'annotations'>;

/**
 * Every query the domain makes, behind one class, so `registry/` never writes SQL
 * and the same calls run on SQLite and PostgreSQL.
 */
export class MetadataStore {
  private readonly db: Kysely<Database>;
  readonly dialect: SqlDialectName;

  constructor(readonly connection: Connection) {
    this.db = connection.db;
    this.dialect = connection.dialect;
  }

  get description(): string {
    return this.connection.description;
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.db, this.dialect, this.connection.schema);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  // ---- repositories

  async getRepository(name: string): Promise<Repository | undefined> {
    return this.db.selectFrom('repositories').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** Creates the repository unless it exists; returns it either way. */
  async ensureRepository(name: string, now: string): Promise<Repository> {
    await this.db
      .insertInto('repositories')
      .values({ name, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const repo = await this.getRepository(name);
    if (!repo) throw new Error(`repository ${name} vanished right after creation`);
    return repo;
  }

  async listRepositoryNames(page: Page): Promise<string[]> {
    let q = this.db.selectFrom('repositories').select('name').orderBy('name');
    if (page.last !== undefined) q = q.where('name', '>', page.last);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => r.name);
  }

  // ---- blobs


  async getBlob(digest: string): Promise<{ size: number } | undefined> {
    return this.db.selectFrom('blobs').select('size').where('digest', '=', digest).executeTakeFirst();
  }

  async findBlobInRepository(repositoryName: string, digest: string): Promise<{ size: number } | undefined> {
    return this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .select('b.size')
      .where('r.name', '=', repositoryName)
      .where('rb.digest', '=', digest)
      .executeTakeFirst();
  }

  /** Records a blob (if new) and links it to the repository, atomically. */
  async linkBlob(repositoryId: number, digest: string, size: number, now: string): Promise<void> {
    await this.connection.writeTransaction(async (tx) => {
      await tx
        .insertInto('blobs')
        .values({ digest, size, created_at: now })
        .onConflict((oc) => oc.column('digest').doNothing())
        .execute();
      await tx
        .insertInto('repository_blobs')
        .values({ repository_id: repositoryId, digest, created_at: now })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
        .execute();
    });
  }

  /** Repositories holding a blob, for deciding whether a caller may mount it without `from`. */
  async repositoriesLinkingBlob(digest: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .select('r.name')
      .where('rb.digest', '=', digest)
      .limit(limit)
      .execute();
    return rows.map((r) => r.name);
  }

  async unlinkBlob(repositoryId: number, digest: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  // ---- uploads

  async createUpload(id: string, repositoryId: number, now: string): Promise<void> {
    await this.db
      .insertInto('uploads')
      .values({ id, repository_id: repositoryId, size: 0, created_at: now, updated_at: now, locked_until: null })
      .execute();
  }

  /** Takes the upload's writer lease unless another live writer holds it. */
  async leaseUpload(id: string, now: string, until: string): Promise<boolean> {
    const res = await this.db
      .updateTable('uploads')
      .set({ locked_until: until })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Extends a lease still held; never re-takes one that was released meanwhile. */
  async renewUploadLease(id: string, until: string): Promise<void> {
    await this.db.updateTable('uploads').set({ locked_until: until }).where('id', '=', id).where('locked_until', 'is not', null).execute();
  }

  /** Drops every writer lease: only safe when no other process can be writing (single-machine start-up). */
  async clearUploadLeases(): Promise<number> {
    const res = await this.db.updateTable('uploads').set({ locked_until: null }).where('locked_until', 'is not', null).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  async releaseUpload(id: string): Promise<void> {
    await this.db.updateTable('uploads').set({ locked_until: null }).where('id', '=', id).execute();
  }

  async getUpload(id: string): Promise<Upload | undefined> {
    return this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Moves the acknowledged size forward only if nobody else did first, and gives up the
   * writer lease in the same statement: the next chunk may come at once, from any node.
   */
  async advanceUpload(id: string, fromSize: number, toSize: number, now: string): Promise<boolean> {
    const res = await this.db
      .updateTable('uploads')
      .set({ size: toSize, updated_at: now, locked_until: null })
      .where('id', '=', id)
      .where('size', '=', fromSize)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async deleteUpload(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Uploads idle since before `updatedBefore` that nobody is writing right now. */
  async listStaleUploads(updatedBefore: string, now: string, limit: number): Promise<Upload[]> {
    return this.db
      .selectFrom('uploads')
      .selectAll()
      .where('updated_at', '<', updatedBefore)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .orderBy('updated_at')
      .limit(limit)
      .execute();
  }

  // ---- manifests and tags

  /**
   * Stores a manifest, its references and optionally a tag in one transaction, after
   * checking inside that transaction that every reference exists in the repository.
   */
  async putManifest(
    repositoryId: number,
    manifest: NewManifest,
    references: ManifestReference[],
    tag: string | undefined,
    opts: { tagImmutable?: boolean } = {},
  ): Promise<PutManifestResult> {
    return this.connection.writeTransaction(async (tx) => {
      const missing = await this.missingReferences(tx, repositoryId, references);
      if (missing.length > 0) return { missing };

      await tx
        .insertInto('manifests')
        .values({ ...manifest, repository_id: repositoryId })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
        .execute();
      const row = await tx
        .selectFrom('manifests')
        .selectAll()
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', manifest.digest)
        .executeTakeFirstOrThrow();
      if (references.length > 0) {
        await tx
          .insertInto('manifest_references')
          .values(references.map((r) => ({ manifest_id: row.id, kind: r.kind, digest: r.digest })))
          .onConflict((oc) => oc.columns(['manifest_id', 'kind', 'digest']).doNothing())
          .execute();
      }
      if (tag !== undefined && opts.tagImmutable) {
        // Tag immutability: the tag may be created, or re-pushed with the same manifest, never moved.
        // Insert-or-keep, then look: concurrent pushes of one new tag leave exactly one winner.
        await tx
          .insertInto('tags')
          .values({ repository_id: repositoryId, name: tag, manifest_id: row.id, updated_at: manifest.pushed_at })
          .onConflict((oc) => oc.columns(['repository_id', 'name']).doNothing())
          .execute();
        const current = await tx.selectFrom('tags').select('manifest_id').where('repository_id', '=', repositoryId).where('name', '=', tag).executeTakeFirst();
        if (current && Number(current.manifest_id) !== Number(row.id)) throw new ImmutableTagTaken();
      } else if (tag !== undefined) {
        await tx
          .insertInto('tags')
          .values({ repository_id: repositoryId, name: tag, manifest_id: row.id, updated_at: manifest.pushed_at })
          .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ manifest_id: row.id, updated_at: manifest.pushed_at }))
          .execute();
      }
      return { manifest: row };
    }).catch((err: unknown) => {
      if (err instanceof ImmutableTagTaken) return { tagImmutable: true as const };
      throw err;
    });
  }

  private async missingReferences(
    tx: Kysely<Database>,
    repositoryId: number,
    references: ManifestReference[],
  ): Promise<ManifestReference[]> {
    const blobDigests = [...new Set(references.filter((r) => r.kind === 'blob').map((r) => r.digest))];
    const manifestDigests = [...new Set(references.filter((r) => r.kind === 'manifest').map((r) => r.digest))];
    const missing: ManifestReference[] = [];
    for (const chunk of chunks(blobDigests, 500)) {
      const found = new Set(
        (
          await tx
            .selectFrom('repository_blobs')
            .select('digest')
            .where('repository_id', '=', repositoryId)
            .where('digest', 'in', chunk)
            .execute()
        ).map((r) => r.digest),
      );
      for (const d of chunk) if (!found.has(d)) missing.push({ kind: 'blob', digest: d });
    }
    for (const chunk of chunks(manifestDigests, 500)) {
      const found = new Set(
        (
          await tx
            .selectFrom('manifests')
            .select('digest')
            .where('repository_id', '=', repositoryId)
            .where('digest', 'in', chunk)
            .execute()
        ).map((r) => r.digest),
      );
      for (const d of chunk) if (!found.has(d)) missing.push({ kind: 'manifest', digest: d });
    }
    return missing;
  }



  /** A manifest by repository name and tag or digest, in one query; the payload only when asked for. */
  async findManifest(
    repositoryName: string,
    by: { tag: string } | { digest: string },
    opts: { withPayload: boolean },
  ): Promise<(Pick<ManifestRow, 'id' | 'digest' | 'media_type' | 'size' | 'subject_digest'> & { payload?: Buffer }) | undefined> {
    const columns = ['m.id', 'm.digest', 'm.media_type', 'm.size', 'm.subject_digest'] as const;
    const base =
      'tag' in by
        ? this.db
            .selectFrom('tags as t')
            .innerJoin('repositories as r', 'r.id', 't.repository_id')
            .innerJoin('manifests as m', 'm.id', 't.manifest_id')
            .where('r.name', '=', repositoryName)
            .where('t.name', '=', by.tag)
        : this.db
            .selectFrom('manifests as m')
            .innerJoin('repositories as r', 'r.id', 'm.repository_id')
            .where('r.name', '=', repositoryName)
            .where('m.digest', '=', by.digest);
    return opts.withPayload ? base.select([...columns, 'm.payload']).executeTakeFirst() : base.select(columns).executeTakeFirst();
  }


  async deleteTag(repositoryId: number, tag: string): Promise<boolean> {
    const res = await this.db.deleteFrom('tags').where('repository_id', '=', repositoryId).where('name', '=', tag).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Deletes a manifest with its tags and references. */
  async deleteManifest(repositoryId: number, digest: string): Promise<boolean> {
    return this.connection.writeTransaction(async (tx) => {
      const row = await tx
        .selectFrom('manifests')
        .select('id')
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (!row) return false;
      await tx.deleteFrom('tags').where('manifest_id', '=', row.id).execute();
      await tx.deleteFrom('manifest_references').where('manifest_id', '=', row.id).execute();
      await tx.deleteFrom('manifests').where('id', '=', row.id).execute();
      return true;
    });
  }

  async listTags(repositoryId: number, page: Page): Promise<string[]> {
    let q = this.db.selectFrom('tags').select('name').where('repository_id', '=', repositoryId).orderBy('name');
    if (page.last !== undefined) q = q.where('name', '>', page.last);
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => r.name);
  }

  async listReferrers(repositoryId: number, subjectDigest: string): Promise<ReferrerRow[]> {
    return this.db
      .selectFrom('manifests')
      .select(['digest', 'media_type', 'size', 'artifact_type', 'config_media_type', 'annotations'])
      .where('repository_id', '=', repositoryId)
      .where('subject_digest', '=', subjectDigest)
      .orderBy('pushed_at')
      .orderBy('digest')
      .execute();
  }

  /** Batched pull times: one statement per manifest, in one transaction. */
  async recordPulls(pulls: Map<number, string>): Promise<void> {
    if (pulls.size === 0) return;
    await this.connection.writeTransaction(async (tx) => {
      for (const [id, at] of pulls) {
        await tx.updateTable('manifests').set({ last_pulled_at: at }).where('id', '=', id).execute();
      }
    });
  }

  // ---- settings

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }

  /** Sets the value unless one exists; returns the value in force. */
  async initSetting(key: string, value: string): Promise<string> {
    await this.db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
    return (await this.getSetting(key)) ?? value;
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

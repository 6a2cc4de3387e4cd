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

  /** The blob as linked to the repository, with when the link was last touched (see touchLink). */
  async findBlobInRepository(repositoryName: string, digest: string): Promise<{ size: number; repository_id: number; touched_at: string | null } | undefined> {
    return this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .select(['b.size', 'rb.repository_id', 'rb.touched_at'])
      .where('r.name', '=', repositoryName)
      .where('rb.digest', '=', digest)
      .executeTakeFirst();
  }

  /**
   * Records a blob (if new) and links it to the repository, atomically, touching both so
   * garbage collection spares them for its grace period. Every path that makes a blob
   * reachable touches the blobs row: on PostgreSQL that row lock is what a concurrent
   * collection's DELETE re-checks. With `finishedUpload`, that upload's row is deleted in
   * the same transaction.
   */
  async linkBlob(repositoryId: number, digest: string, size: number, now: string, opts: { finishedUpload?: string } = {}): Promise<void> {
    await this.connection.writeTransaction(async (tx) => {
      await tx
        .insertInto('blobs')
        .values({ digest, size, created_at: now, touched_at: now })
        .onConflict((oc) => oc.column('digest').doUpdateSet({ touched_at: now }))
        .execute();
      await tx
        .insertInto('repository_blobs')
        .values({ repository_id: repositoryId, digest, created_at: now, touched_at: now })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ touched_at: now }))
        .execute();
      // The upload that produced the blob goes in the same commit (one write instead of two).
      if (opts.finishedUpload !== undefined) await tx.deleteFrom('uploads').where('id', '=', opts.finishedUpload).execute();
    });
  }

  /**
   * Before a publish writes a blob's bytes: records (or touches) the blob row, so no new
   * collection removes it, and says whether a collection is still removing an earlier copy
   * of these bytes (its start time), in which case the bytes must not be written until it ends.
   */
  async reserveBlob(digest: string, size: number, now: string): Promise<string | null> {
    // The common case, a digest the registry has never held, needs no write: a collection
    // removes only blobs that have a row, and records the removal in the transaction that
    // deletes the row. Both are read by one statement, so from one snapshot: either that
    // transaction is visible (no row, a record) or it is not (the row).
    const { row, pending } = await this.db
      .selectNoFrom((eb) => [
        eb.selectFrom('blobs').select(sql<number>`1`.as('one')).where('digest', '=', digest).as('row'),
        eb.selectFrom('blob_deletions').select('started_at').where('digest', '=', digest).as('pending'),
      ])
      .executeTakeFirstOrThrow();
    if (row === null && pending === null) return null;
    return this.connection.writeTransaction(async (tx) => {
      await tx
        .insertInto('blobs')
        .values({ digest, size, created_at: now, touched_at: now })
        .onConflict((oc) => oc.column('digest').doUpdateSet({ touched_at: now }))
        .execute();
      const pending = await tx.selectFrom('blob_deletions').select('started_at').where('digest', '=', digest).executeTakeFirst();
      return pending?.started_at ?? null;
    });
  }

  /** Forgets a removal that never finished (its collector died); only the one that started at `startedAt`. */
  async forgetBlobDeletion(digest: string, startedAt: string): Promise<void> {
    await this.db.deleteFrom('blob_deletions').where('digest', '=', digest).where('started_at', '=', startedAt).execute();
  }

  /**
   * Mount: links a blob the registry holds, in one transaction that touches its row, so a
   * collection either removed it first (false: the client uploads instead) or spares it.
   */
  async linkExistingBlob(repositoryId: number, digest: string, now: string): Promise<boolean> {
    return this.connection.writeTransaction(async (tx) => {
      const touched = await tx.updateTable('blobs').set({ touched_at: now }).where('digest', '=', digest).executeTakeFirst();
      if (Number(touched.numUpdatedRows) === 0) return false;
      const removing = await tx.selectFrom('blob_deletions').select('digest').where('digest', '=', digest).executeTakeFirst();
      if (removing) return false;
      await tx
        .insertInto('repository_blobs')
        .values({ repository_id: repositoryId, digest, created_at: now, touched_at: now })
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doUpdateSet({ touched_at: now }))
        .execute();
      return true;
    });
  }

  /** Marks a link as just used (a HEAD or GET before a manifest push that will reference it). */
  async touchLink(repositoryId: number, digest: string, now: string): Promise<void> {
    await this.db.updateTable('repository_blobs').set({ touched_at: now }).where('repository_id', '=', repositoryId).where('digest', '=', digest).execute();
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

  /**
   * Creates an upload in the repository named, in one statement; undefined (nothing written)
   * when no such repository exists. Returns the repository's id.
   */
  async createUploadIn(repositoryName: string, id: string, now: string): Promise<number | undefined> {
    const row = await this.db
      .insertInto('uploads')
      .columns(['id', 'repository_id', 'size', 'created_at', 'updated_at', 'locked_until'])
      .expression((eb) =>
        eb
          .selectFrom('repositories')
          .select([
            // Typed for PostgreSQL, which types a SELECT list's parameters on their own (as text).
            sql<string>`cast(${id} as text)`.as('id'),
            'id as repository_id',
            sql<number>`0`.as('size'),
            sql<string>`cast(${now} as text)`.as('created_at'),
            sql<string>`cast(${now} as text)`.as('updated_at'),
            sql<null>`cast(null as text)`.as('locked_until'),
          ])
          .where('name', '=', repositoryName),
      )
      .returning('repository_id')
      .executeTakeFirst();
    return row ? Number(row.repository_id) : undefined;
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

  /**
   * leaseUpload for an upload of the repository named, returning the upload's acknowledged
   * size and repository in the same statement; undefined when the upload is unknown there,
   * or another live writer holds its lease (the caller tells which apart).
   */
  async leaseUploadIn(repositoryName: string, id: string, now: string, until: string): Promise<{ size: number; repository_id: number; digest: string | null } | undefined> {
    const row = await this.db
      .updateTable('uploads')
      .set({ locked_until: until })
      .where('id', '=', id)
      .where('repository_id', '=', (eb) =>
        eb
          .selectFrom('repositories')
          .select((r) => r.ref('repositories.id').$castTo<number>().as('id'))
          .where('name', '=', repositoryName),
      )
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .returning(['size', 'repository_id', 'digest'])
      .executeTakeFirst();
    return row ? { size: Number(row.size), repository_id: Number(row.repository_id), digest: row.digest } : undefined;
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
  async advanceUpload(id: string, fromSize: number, toSize: number, now: string, digest: string | null = null): Promise<boolean> {
    const res = await this.db
      .updateTable('uploads')
      .set({ size: toSize, updated_at: now, locked_until: null, digest })
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

      const insertAndLock = async () => {
        await tx
          .insertInto('manifests')
          .values({ ...manifest, repository_id: repositoryId })
          .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
          .execute();
        let stored = tx.selectFrom('manifests').selectAll().where('repository_id', '=', repositoryId).where('digest', '=', manifest.digest);
        // PostgreSQL: a delete of this manifest (an image delete, a lifecycle expiry) waits for the
        // tag written below instead of removing the row under it (a foreign-key failure).
        if (this.dialect === 'postgres') stored = stored.forShare();
        return stored.executeTakeFirst();
      };
      // Once more if a delete of the existing row committed between the insert and the lock.
      const row = (await insertAndLock()) ?? (await insertAndLock());
      if (!row) throw new Error(`manifest ${manifest.digest} vanished while being stored`);
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
      let query = tx.selectFrom('repository_blobs').select('digest').where('repository_id', '=', repositoryId).where('digest', 'in', chunk);
      // PostgreSQL: hold the links until this manifest commits, so garbage collection (which
      // locks a link FOR UPDATE before removing it) either goes first, and the push is told
      // BLOB_UNKNOWN, or sees this manifest's references and keeps them. SQLite serialises
      // write transactions anyway.
      if (this.dialect === 'postgres') query = query.forShare();
      const found = new Set((await query.execute()).map((r) => r.digest));
      for (const d of chunk) if (!found.has(d)) missing.push({ kind: 'blob', digest: d });
    }
    for (const chunk of chunks(manifestDigests, 500)) {
      let query = tx.selectFrom('manifests').select('digest').where('repository_id', '=', repositoryId).where('digest', 'in', chunk);
      // Likewise for an index's children: a concurrent delete or expiry of a child waits, or wins and the push is refused.
      if (this.dialect === 'postgres') query = query.forShare();
      const found = new Set((await query.execute()).map((r) => r.digest));
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

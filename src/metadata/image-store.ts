import type { Kysely } from 'kysely';
import type { Connection } from './connect.js';
import type { Database, ManifestRow, Repository } from './schema.js';

/** A manifest as the ECR API describes an image: everything but the payload. */
export type ImageRow = Pick<
  ManifestRow,
  'id' | 'digest' | 'media_type' | 'artifact_type' | 'config_media_type' | 'subject_digest' | 'size' | 'total_size' | 'pushed_at' | 'last_pulled_at'
>;

/** One ListImages entry: a tag and its manifest, or an untagged manifest (tag null). */
export interface ImageIdRow {
  id: number;
  digest: string;
  tag: string | null;
}

export type TagStatus = 'TAGGED' | 'UNTAGGED' | 'ANY';

/** The settings columns CreateRepository and the Put* operations write. */
export interface RepositorySettingsPatch {
  tag_mutability?: string;
  tag_mutability_exclusions?: string | null;
  scan_on_push?: number;
  encryption_type?: string;
  kms_key?: string | null;
  resource_tags?: string | null;
}

const IMAGE_COLUMNS = [
  'm.id',
  'm.digest',
  'm.media_type',
  'm.artifact_type',
  'm.config_media_type',
  'm.subject_digest',
  'm.size',
  'm.total_size',
  'm.pushed_at',
  'm.last_pulled_at',
] as const;

/**
 * The queries behind the ECR API's repository and image operations (the /v2 surface's are in
 * MetadataStore). Pages are keyed by stable sort keys: repository name; manifest id (then tag).
 */
export class ImageStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly connection: Connection) {
    this.db = connection.db;
  }

  // ---- repositories

  async getRepository(name: string): Promise<Repository | undefined> {
    return this.db.selectFrom('repositories').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** Creates the repository with its settings; undefined when one of that name exists already. */
  async createRepository(name: string, createdAt: string, settings: RepositorySettingsPatch): Promise<Repository | undefined> {
    const res = await this.db
      .insertInto('repositories')
      .values({ name, created_at: createdAt, ...settings })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return undefined;
    return this.getRepository(name);
  }

  /** Repositories in name order, after `after` (exclusive). */
  async listRepositories(after: string | undefined, limit: number): Promise<Repository[]> {
    let q = this.db.selectFrom('repositories').selectAll().orderBy('name').limit(limit);
    if (after !== undefined) q = q.where('name', '>', after);
    return q.execute();
  }

  async updateRepository(id: number, patch: RepositorySettingsPatch): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    await this.db.updateTable('repositories').set(patch).where('id', '=', id).execute();
  }

  async countImages(repositoryId: number): Promise<number> {
    const row = await this.db
      .selectFrom('manifests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('repository_id', '=', repositoryId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listUploadIds(repositoryId: number): Promise<string[]> {
    return (await this.db.selectFrom('uploads').select('id').where('repository_id', '=', repositoryId).execute()).map((r) => r.id);
  }

  /**
   * Deletes a repository with its tags, manifests, blob links and upload rows, in one
   * transaction. Blob bytes stay for garbage collection; upload bytes are the caller's.
   */
  async deleteRepository(id: number): Promise<boolean> {
    return this.connection.writeTransaction(async (tx) => {
      await tx.deleteFrom('tags').where('repository_id', '=', id).execute();
      await tx
        .deleteFrom('manifest_references')
        .where('manifest_id', 'in', (eb) => eb.selectFrom('manifests').select('id').where('repository_id', '=', id))
        .execute();
      await tx.deleteFrom('manifests').where('repository_id', '=', id).execute();
      await tx.deleteFrom('repository_blobs').where('repository_id', '=', id).execute();
      await tx.deleteFrom('uploads').where('repository_id', '=', id).execute();
      const res = await tx.deleteFrom('repositories').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }

  // ---- images

  /** ListImages: one row per tag, and one per untagged manifest, by (manifest id, tag). */
  async listImageIds(repositoryId: number, status: TagStatus, after: { id: number; tag: string | null } | undefined, limit: number): Promise<ImageIdRow[]> {
    if (status === 'UNTAGGED') {
      let q = this.db
        .selectFrom('manifests as m')
        .select(['m.id', 'm.digest'])
        .where('m.repository_id', '=', repositoryId)
        .where((eb) => eb.not(eb.exists(eb.selectFrom('tags as t').select('t.name').whereRef('t.manifest_id', '=', 'm.id'))))
        .orderBy('m.id')
        .limit(limit);
      if (after) q = q.where('m.id', '>', after.id);
      return (await q.execute()).map((r) => ({ id: Number(r.id), digest: r.digest, tag: null }));
    }
    let q =
      status === 'TAGGED'
        ? this.db.selectFrom('manifests as m').innerJoin('tags as t', 't.manifest_id', 'm.id').select(['m.id', 'm.digest', 't.name as tag'])
        : this.db.selectFrom('manifests as m').leftJoin('tags as t', 't.manifest_id', 'm.id').select(['m.id', 'm.digest', 't.name as tag']);
    q = q.where('m.repository_id', '=', repositoryId).orderBy('m.id').orderBy('t.name').limit(limit);
    if (after) {
      const { id, tag } = after;
      q = q.where((eb) => (tag === null ? eb('m.id', '>', id) : eb.or([eb('m.id', '>', id), eb.and([eb('m.id', '=', id), eb('t.name', '>', tag)])])));
    }
    return (await q.execute()).map((r) => ({ id: Number(r.id), digest: r.digest, tag: r.tag ?? null }));
  }

  /** DescribeImages: manifests by id, after `afterId` (exclusive). */
  async listImages(repositoryId: number, status: TagStatus, afterId: number | undefined, limit: number): Promise<ImageRow[]> {
    let q = this.db.selectFrom('manifests as m').select(IMAGE_COLUMNS).where('m.repository_id', '=', repositoryId).orderBy('m.id').limit(limit);
    if (afterId !== undefined) q = q.where('m.id', '>', afterId);
    if (status !== 'ANY') {
      q = q.where((eb) => {
        const tagged = eb.exists(eb.selectFrom('tags as t').select('t.name').whereRef('t.manifest_id', '=', 'm.id'));
        return status === 'TAGGED' ? tagged : eb.not(tagged);
      });
    }
    return (await q.execute()).map(numericImage);
  }

  async findImageByDigest(repositoryId: number, digest: string): Promise<ImageRow | undefined> {
    const row = await this.db.selectFrom('manifests as m').select(IMAGE_COLUMNS).where('m.repository_id', '=', repositoryId).where('m.digest', '=', digest).executeTakeFirst();
    return row && numericImage(row);
  }

  async findImageByTag(repositoryId: number, tag: string): Promise<ImageRow | undefined> {
    const row = await this.db
      .selectFrom('tags as t')
      .innerJoin('manifests as m', 'm.id', 't.manifest_id')
      .select(IMAGE_COLUMNS)
      .where('t.repository_id', '=', repositoryId)
      .where('t.name', '=', tag)
      .executeTakeFirst();
    return row && numericImage(row);
  }

  /** Tags of each manifest, sorted. */
  async tagsOf(manifestIds: number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>(manifestIds.map((id) => [id, []]));
    for (let i = 0; i < manifestIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('tags')
        .select(['manifest_id', 'name'])
        .where('manifest_id', 'in', manifestIds.slice(i, i + 500))
        .orderBy('name')
        .execute();
      for (const r of rows) out.get(Number(r.manifest_id))?.push(r.name);
    }
    return out;
  }

  /** For each index, the size of its largest child image (ECR's imageSizeInBytes for a manifest list). */
  async largestChildImages(repositoryId: number, indexIds: number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (let i = 0; i < indexIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('manifest_references as r')
        .innerJoin('manifests as c', (join) => join.onRef('c.digest', '=', 'r.digest').on('c.repository_id', '=', repositoryId))
        .select(['r.manifest_id', 'c.total_size', 'c.size'])
        .where('r.kind', '=', 'manifest')
        .where('r.manifest_id', 'in', indexIds.slice(i, i + 500))
        .execute();
      for (const r of rows) {
        const id = Number(r.manifest_id);
        out.set(id, Math.max(out.get(id) ?? 0, Number(r.total_size) - Number(r.size)));
      }
    }
    return out;
  }

  /** Digests of the indexes in the repository that list `digest` as a child. */
  async indexesReferencing(repositoryId: number, digest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('manifest_references as r')
      .innerJoin('manifests as m', 'm.id', 'r.manifest_id')
      .select('m.digest')
      .where('m.repository_id', '=', repositoryId)
      .where('r.kind', '=', 'manifest')
      .where('r.digest', '=', digest)
      .orderBy('m.digest')
      .execute();
    return rows.map((r) => r.digest);
  }

  /** Deletes a manifest with its tags and references; returns the tags it had, or undefined if it was gone. */
  async deleteImage(repositoryId: number, digest: string): Promise<string[] | undefined> {
    return this.connection.writeTransaction(async (tx) => {
      const row = await tx.selectFrom('manifests').select('id').where('repository_id', '=', repositoryId).where('digest', '=', digest).executeTakeFirst();
      if (!row) return undefined;
      const tags = (await tx.selectFrom('tags').select('name').where('manifest_id', '=', row.id).orderBy('name').execute()).map((t) => t.name);
      await this.removeManifest(tx, row.id);
      return tags;
    });
  }

  /**
   * Removes a tag; when it was the manifest's last and no index in the repository lists the
   * manifest, the manifest goes too (ECR: "when you remove the last tag from an image, the
   * image is deleted"). Undefined when the tag does not exist (or, given `digest`, names another).
   */
  /**
   * Removes a tag, and the image with it when that was its last tag and no index lists it.
   * With `onlyWithImage` (an immutable tag) the tag goes only together with its image:
   * otherwise nothing changes and `keptImmutable` says why.
   */
  async untagImage(
    repositoryId: number,
    tag: string,
    digest?: string,
    opts: { onlyWithImage?: boolean } = {},
  ): Promise<{ digest: string; imageDeleted: boolean; keptImmutable?: true } | undefined> {
    return this.connection.writeTransaction(async (tx) => {
      const row = await tx
        .selectFrom('tags as t')
        .innerJoin('manifests as m', 'm.id', 't.manifest_id')
        .select(['m.id', 'm.digest'])
        .where('t.repository_id', '=', repositoryId)
        .where('t.name', '=', tag)
        .executeTakeFirst();
      if (!row || (digest !== undefined && row.digest !== digest)) return undefined;
      const otherTag = await tx.selectFrom('tags').select('name').where('manifest_id', '=', row.id).where('name', '!=', tag).limit(1).executeTakeFirst();
      const parent = await tx
        .selectFrom('manifest_references as r')
        .innerJoin('manifests as m', 'm.id', 'r.manifest_id')
        .select('m.id')
        .where('m.repository_id', '=', repositoryId)
        .where('r.kind', '=', 'manifest')
        .where('r.digest', '=', row.digest)
        .limit(1)
        .executeTakeFirst();
      const imageGoes = !otherTag && !parent;
      if (opts.onlyWithImage && !imageGoes) return { digest: row.digest, imageDeleted: false, keptImmutable: true as const };
      await tx.deleteFrom('tags').where('repository_id', '=', repositoryId).where('name', '=', tag).execute();
      if (!imageGoes) return { digest: row.digest, imageDeleted: false };
      await this.removeManifest(tx, row.id);
      return { digest: row.digest, imageDeleted: true };
    });
  }

  private async removeManifest(tx: Kysely<Database>, id: number): Promise<void> {
    await removeManifestRows(tx, id);
  }

  // ---- layers

  /** Sizes of the given blobs that are linked to the repository. */
  async linkedBlobs(repositoryId: number, digests: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const unique = [...new Set(digests)];
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await this.db
        .selectFrom('repository_blobs as rb')
        .innerJoin('blobs as b', 'b.digest', 'rb.digest')
        .select(['b.digest', 'b.size'])
        .where('rb.repository_id', '=', repositoryId)
        .where('rb.digest', 'in', unique.slice(i, i + 500))
        .execute();
      for (const r of rows) out.set(r.digest, Number(r.size));
    }
    return out;
  }
}

/**
 * Deletes a manifest's rows (tags, references, the manifest) inside the caller's write
 * transaction: the one delete path for images, shared by BatchDeleteImage and lifecycle expiry.
 */
export async function removeManifestRows(tx: Kysely<Database>, id: number): Promise<void> {
  await tx.deleteFrom('tags').where('manifest_id', '=', id).execute();
  await tx.deleteFrom('manifest_references').where('manifest_id', '=', id).execute();
  await tx.deleteFrom('manifests').where('id', '=', id).execute();
}

function numericImage<T extends ImageRow>(row: T): T {
  // bigint columns: numbers already on both dialects (see connect.ts); ids too, made sure here.
  return { ...row, id: Number(row.id), size: Number(row.size), total_size: Number(row.total_size) };
}

import type { Kysely } from 'kysely';
import type { Connection } from './connect.js';
import { removeManifestRows } from './image-store.js';
import type { Database } from './schema.js';

/** A repository's lifecycle policy, as stored (the text exactly as put). */
export interface RepositoryLifecycle {
  id: number;
  name: string;
  policy: string | null;
  /** When the policy was last put: GetLifecyclePolicy's lastEvaluatedAt. */
  updatedAt: string | null;
}

/** ECR's LifecyclePolicyPreviewStatus values Wharf uses (no EXPIRED: a preview stays until replaced). */
export type PreviewStatus = 'IN_PROGRESS' | 'COMPLETE' | 'FAILED';

export interface PreviewRow {
  status: PreviewStatus;
  policy: string;
  /** JSON, when COMPLETE. */
  results: string | null;
  failure: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A manifest of an expiry unit as it is now, read under the deleting transaction. */
export interface CurrentManifest {
  id: number;
  digest: string;
  tags: string[];
  /** Digests of the indexes in the repository that list it as a child. */
  listedBy: string[];
}

const CHUNK = 500;

function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The queries behind lifecycle policies: the policy column of `repositories`, the
 * `lifecycle_previews` table, the index children the engine needs, and the compare-and-delete
 * that expires images safely while pushes go on.
 */
export class LifecycleStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly connection: Connection) {
    this.db = connection.db;
  }

  // ---- policies

  async getRepository(name: string): Promise<RepositoryLifecycle | undefined> {
    const row = await this.db
      .selectFrom('repositories')
      .select(['id', 'name', 'lifecycle_policy', 'lifecycle_policy_updated_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    return row && { id: Number(row.id), name: row.name, policy: row.lifecycle_policy, updatedAt: row.lifecycle_policy_updated_at };
  }

  async putPolicy(repositoryId: number, text: string, now: string): Promise<void> {
    await this.db.updateTable('repositories').set({ lifecycle_policy: text, lifecycle_policy_updated_at: now }).where('id', '=', repositoryId).execute();
  }

  /** Removes the policy; returns what it was, or undefined when there was none (also when a concurrent delete won). */
  async deletePolicy(repositoryId: number): Promise<{ policy: string; updatedAt: string | null } | undefined> {
    return this.connection.writeTransaction(async (tx) => {
      const row = await tx
        .selectFrom('repositories')
        .select(['lifecycle_policy', 'lifecycle_policy_updated_at'])
        .where('id', '=', repositoryId)
        .where('lifecycle_policy', 'is not', null)
        .executeTakeFirst();
      if (!row || row.lifecycle_policy === null) return undefined;
      const res = await tx
        .updateTable('repositories')
        .set({ lifecycle_policy: null, lifecycle_policy_updated_at: null })
        .where('id', '=', repositoryId)
        .where('lifecycle_policy', 'is not', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0 ? { policy: row.lifecycle_policy, updatedAt: row.lifecycle_policy_updated_at } : undefined;
    });
  }

  /** Repositories that have a policy, in name order after `after` (exclusive). */
  async listWithPolicy(after: string | undefined, limit: number): Promise<RepositoryLifecycle[]> {
    let q = this.db
      .selectFrom('repositories')
      .select(['id', 'name', 'lifecycle_policy', 'lifecycle_policy_updated_at'])
      .where('lifecycle_policy', 'is not', null)
      .orderBy('name')
      .limit(limit);
    if (after !== undefined) q = q.where('name', '>', after);
    return (await q.execute()).map((r) => ({ id: Number(r.id), name: r.name, policy: r.lifecycle_policy, updatedAt: r.lifecycle_policy_updated_at }));
  }

  // ---- what the engine reads

  /** The child manifests (digests) each index lists, by manifest id. */
  async childrenOf(manifestIds: number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const chunk of chunks(manifestIds)) {
      const rows = await this.db
        .selectFrom('manifest_references')
        .select(['manifest_id', 'digest'])
        .where('kind', '=', 'manifest')
        .where('manifest_id', 'in', chunk)
        .orderBy('digest')
        .execute();
      for (const r of rows) {
        const id = Number(r.manifest_id);
        const list = out.get(id);
        if (list) list.push(r.digest);
        else out.set(id, [r.digest]);
      }
    }
    return out;
  }

  // ---- expiring

  /**
   * Deletes some of `digests` in one write transaction: reads them as they are now (locking their
   * rows on PostgreSQL, so a concurrent tag push waits for the decision or is seen by it), lets
   * `decide` pick which still may go and in what order, removes those through the images' one
   * delete path, and calls `record` inside the same transaction (the audit rows commit with the
   * deletion or not at all). Returns the manifests removed.
   */
  async expire(
    repositoryId: number,
    digests: string[],
    decide: (current: Map<string, CurrentManifest>) => string[],
    record: (tx: Kysely<Database>, removed: CurrentManifest[]) => Promise<void>,
  ): Promise<CurrentManifest[]> {
    return this.connection.writeTransaction(async (tx) => {
      const current = new Map<string, CurrentManifest>();
      for (const chunk of chunks([...new Set(digests)])) {
        let q = tx.selectFrom('manifests').select(['id', 'digest']).where('repository_id', '=', repositoryId).where('digest', 'in', chunk).orderBy('id');
        // SQLite's BEGIN IMMEDIATE already excludes every other writer; PostgreSQL needs the row locks.
        if (this.connection.dialect === 'postgres') q = q.forUpdate();
        for (const r of await q.execute()) current.set(r.digest, { id: Number(r.id), digest: r.digest, tags: [], listedBy: [] });
      }
      const byId = new Map([...current.values()].map((m) => [m.id, m]));
      for (const chunk of chunks([...byId.keys()])) {
        const tags = await tx.selectFrom('tags').select(['manifest_id', 'name']).where('manifest_id', 'in', chunk).orderBy('name').execute();
        for (const t of tags) byId.get(Number(t.manifest_id))?.tags.push(t.name);
      }
      for (const chunk of chunks([...current.keys()])) {
        const parents = await tx
          .selectFrom('manifest_references as r')
          .innerJoin('manifests as m', 'm.id', 'r.manifest_id')
          .select(['r.digest as child', 'm.digest as parent'])
          .where('m.repository_id', '=', repositoryId)
          .where('r.kind', '=', 'manifest')
          .where('r.digest', 'in', chunk)
          .orderBy('m.digest')
          .execute();
        for (const p of parents) current.get(p.child)?.listedBy.push(p.parent);
      }
      const removed: CurrentManifest[] = [];
      for (const digest of decide(current)) {
        const m = current.get(digest);
        if (!m) continue;
        await removeManifestRows(tx, m.id);
        removed.push(m);
      }
      if (removed.length > 0) await record(tx, removed);
      return removed;
    });
  }

  // ---- previews

  async getPreview(repositoryId: number): Promise<PreviewRow | undefined> {
    const row = await this.db.selectFrom('lifecycle_previews').selectAll().where('repository_id', '=', repositoryId).executeTakeFirst();
    return (
      row && {
        status: row.status as PreviewStatus,
        policy: row.policy,
        results: row.results,
        failure: row.failure,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      }
    );
  }

  /**
   * Starts a preview: replaces the repository's previous one unless another is being computed
   * (IN_PROGRESS and updated after `staleBefore`; an older one belonged to a process that died).
   * One statement (an upsert with a condition), so concurrent starts on any node leave one winner.
   */
  async claimPreview(repositoryId: number, policy: string, now: string, staleBefore: string): Promise<boolean> {
    const res = await this.db
      .insertInto('lifecycle_previews')
      .values({ repository_id: repositoryId, status: 'IN_PROGRESS', policy, results: null, failure: null, created_at: now, updated_at: now })
      .onConflict((oc) =>
        oc
          .column('repository_id')
          .doUpdateSet({ status: 'IN_PROGRESS', policy, results: null, failure: null, created_at: now, updated_at: now })
          .where((eb) => eb.or([eb('lifecycle_previews.status', '<>', 'IN_PROGRESS'), eb('lifecycle_previews.updated_at', '<', staleBefore)])),
      )
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Records the outcome of the preview claimed at `createdAt` (unless a later start replaced it). */
  async finishPreview(repositoryId: number, createdAt: string, outcome: { status: 'COMPLETE'; results: string } | { status: 'FAILED'; failure: string }, now: string): Promise<void> {
    await this.db
      .updateTable('lifecycle_previews')
      .set({
        status: outcome.status,
        results: outcome.status === 'COMPLETE' ? outcome.results : null,
        failure: outcome.status === 'FAILED' ? outcome.failure : null,
        updated_at: now,
      })
      .where('repository_id', '=', repositoryId)
      .where('created_at', '=', createdAt)
      .where('status', '=', 'IN_PROGRESS')
      .execute();
  }
}

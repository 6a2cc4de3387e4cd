import { sql, type Kysely } from 'kysely';
import type { Connection } from '../metadata/connect.js';
import type { Database } from '../metadata/schema.js';

export interface LinkCandidate {
  repository_id: number;
  digest: string;
}

export interface BlobCandidate {
  digest: string;
  size: number;
}

/** Cluster-wide totals of every collection, kept in the settings table for /metrics. */
export interface GcTotals {
  runs: number;
  unlinked: number;
  blobsDeleted: number;
  bytesReclaimed: number;
  lastRunAt: string | null;
  lastDurationMs: number;
}

const TOTALS_KEY = 'gc.totals';
const NO_RUNS: GcTotals = { runs: 0, unlinked: 0, blobsDeleted: 0, bytesReclaimed: 0, lastRunAt: null, lastDurationMs: 0 };

/** The stored totals; a missing or damaged value counts as no runs. */
function parseTotals(value: string | undefined): GcTotals {
  if (value === undefined) return NO_RUNS;
  try {
    return { ...NO_RUNS, ...(JSON.parse(value) as Partial<GcTotals>) };
  } catch {
    return NO_RUNS;
  }
}

/** The SQL of garbage collection: every candidate comes from the metadata database, never a storage listing. */
export class GcStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly connection: Connection) {
    this.db = connection.db;
  }

  /** `rb` (a repository_blobs alias) is named by no manifest of its repository. */
  private unreferencedLink() {
    return sql<boolean>`not exists (
      select 1 from manifest_references mr join manifests m on m.id = mr.manifest_id
      where m.repository_id = rb.repository_id and mr.digest = rb.digest and mr.kind = 'blob')`;
  }

  /**
   * No manifest anywhere names the blob. Normally implied by "no link" (a manifest's blobs are
   * linked in its repository), but a client may DELETE a blob a manifest still uses: its link
   * goes, and the bytes stay, so the image can be repaired by pushing the blob again.
   */
  private namedByNoManifest(table: 'b' | 'blobs') {
    return table === 'b'
      ? sql<boolean>`not exists (select 1 from manifest_references mr where mr.digest = b.digest and mr.kind = 'blob')`
      : sql<boolean>`not exists (select 1 from manifest_references mr where mr.digest = blobs.digest and mr.kind = 'blob')`;
  }

  private touchedBefore(alias: 'rb' | 'b', cutoff: string) {
    return alias === 'rb'
      ? sql<boolean>`coalesce(rb.touched_at, rb.created_at) < ${cutoff}`
      : sql<boolean>`coalesce(b.touched_at, b.created_at) < ${cutoff}`;
  }

  /** Links no manifest of their repository names, untouched since `cutoff`. */
  async linkCandidates(cutoff: string, limit: number, after?: LinkCandidate): Promise<LinkCandidate[]> {
    let q = this.db
      .selectFrom('repository_blobs as rb')
      .select(['rb.repository_id', 'rb.digest'])
      .where(this.touchedBefore('rb', cutoff))
      .where(this.unreferencedLink())
      .orderBy('rb.repository_id')
      .orderBy('rb.digest')
      .limit(limit);
    if (after) {
      q = q.where((eb) =>
        eb.or([eb('rb.repository_id', '>', after.repository_id), eb.and([eb('rb.repository_id', '=', after.repository_id), eb('rb.digest', '>', after.digest)])]),
      );
    }
    return (await q.execute()).map((r) => ({ repository_id: Number(r.repository_id), digest: r.digest }));
  }

  /**
   * Removes the candidate links that are still unreferenced and untouched, in one write
   * transaction. PostgreSQL: the links are locked FOR UPDATE first (a manifest push holds
   * the links it names FOR SHARE until it commits), and the check runs in a statement that
   * starts after the locks are granted, so it sees any manifest that committed meanwhile.
   */
  async unlink(candidates: LinkCandidate[], cutoff: string): Promise<number> {
    if (candidates.length === 0) return 0;
    return this.connection.writeTransaction(async (tx) => {
      let removed = 0;
      for (const repositoryId of new Set(candidates.map((c) => c.repository_id))) {
        const digests = candidates.filter((c) => c.repository_id === repositoryId).map((c) => c.digest);
        if (this.connection.dialect === 'postgres') {
          await tx
            .selectFrom('repository_blobs')
            .select('digest')
            .where('repository_id', '=', repositoryId)
            .where('digest', 'in', digests)
            .forUpdate()
            .execute();
        }
        const res = await tx
          .deleteFrom('repository_blobs as rb')
          .where('rb.repository_id', '=', repositoryId)
          .where('rb.digest', 'in', digests)
          .where(this.touchedBefore('rb', cutoff))
          .where(this.unreferencedLink())
          .executeTakeFirst();
        removed += Number(res.numDeletedRows);
      }
      return removed;
    });
  }

  /** Blobs no repository links, untouched since `cutoff`. */
  async blobCandidates(cutoff: string, limit: number, after?: string): Promise<BlobCandidate[]> {
    let q = this.db
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size'])
      .where(this.touchedBefore('b', cutoff))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.digest', '=', 'b.digest'))))
      .where(this.namedByNoManifest('b'))
      .orderBy('b.digest')
      .limit(limit);
    if (after !== undefined) q = q.where('b.digest', '>', after);
    return (await q.execute()).map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  /**
   * Deletes the rows of the candidate blobs still unlinked and untouched, and records their
   * removal from storage, in one transaction. Every path that makes a blob reachable again
   * (publish, mount) writes its row first, so on PostgreSQL this DELETE either waits for that
   * write and then skips the row (its touched_at is new), or goes first and the other side
   * sees the removal record.
   */
  async claimBlobs(candidates: BlobCandidate[], cutoff: string, now: string): Promise<BlobCandidate[]> {
    if (candidates.length === 0) return [];
    return this.connection.writeTransaction(async (tx) => {
      // No alias on the deleted table: SQLite's RETURNING does not accept qualified names.
      const deleted = await tx
        .deleteFrom('blobs')
        .where(
          'digest',
          'in',
          candidates.map((c) => c.digest),
        )
        .where(sql<boolean>`coalesce(blobs.touched_at, blobs.created_at) < ${cutoff}`)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.digest', '=', 'blobs.digest'))))
        .where(this.namedByNoManifest('blobs'))
        .returning(['digest', 'size'])
        .execute();
      const claimed = deleted.map((r) => ({ digest: r.digest, size: Number(r.size) }));
      if (claimed.length > 0) {
        await tx
          .insertInto('blob_deletions')
          .values(claimed.map((c) => ({ digest: c.digest, size: c.size, started_at: now })))
          .onConflict((oc) => oc.column('digest').doUpdateSet({ started_at: now, size: sql`excluded.size` }))
          .execute();
      }
      return claimed;
    });
  }

  /** Removals recorded before `before` that never finished (their collector died). */
  async unfinishedDeletions(before: string, limit: number): Promise<{ digest: string; size: number; started_at: string }[]> {
    const rows = await this.db.selectFrom('blob_deletions').selectAll().where('started_at', '<', before).orderBy('digest').limit(limit).execute();
    return rows.map((r) => ({ ...r, size: Number(r.size) }));
  }

  /**
   * Takes over an unfinished removal: restamps it so a publish waits again, unless the blob
   * was published anew meanwhile (then the removal is dropped: its bytes are wanted).
   */
  async resumeDeletion(digest: string, startedAt: string, now: string): Promise<boolean> {
    return this.connection.writeTransaction(async (tx) => {
      const alive = await tx.selectFrom('blobs').select('digest').where('digest', '=', digest).executeTakeFirst();
      if (alive) {
        await tx.deleteFrom('blob_deletions').where('digest', '=', digest).where('started_at', '=', startedAt).execute();
        return false;
      }
      const res = await tx.updateTable('blob_deletions').set({ started_at: now }).where('digest', '=', digest).where('started_at', '=', startedAt).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    });
  }

  async finishDeletion(digest: string): Promise<void> {
    await this.db.deleteFrom('blob_deletions').where('digest', '=', digest).execute();
  }

  async pendingDeletions(): Promise<number> {
    const row = await this.db.selectFrom('blob_deletions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /**
   * What a collection at `cutoff` would reclaim, without changing anything: blobs untouched
   * since then whose every link would be removed (or that have none).
   */
  async preview(cutoff: string): Promise<{ links: number; blobs: number; bytes: number }> {
    const links = await this.db
      .selectFrom('repository_blobs as rb')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(this.touchedBefore('rb', cutoff))
      .where(this.unreferencedLink())
      .executeTakeFirst();
    const blobs = await this.db
      .selectFrom('blobs as b')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('b.size').as('bytes')])
      .where(this.touchedBefore('b', cutoff))
      .where(
        sql<boolean>`not exists (
          select 1 from repository_blobs rb where rb.digest = b.digest
          and not (coalesce(rb.touched_at, rb.created_at) < ${cutoff} and ${this.unreferencedLink()}))`,
      )
      .where(this.namedByNoManifest('b'))
      .executeTakeFirst();
    return { links: Number(links?.n ?? 0), blobs: Number(blobs?.n ?? 0), bytes: Number(blobs?.bytes ?? 0) };
  }

  async totals(): Promise<GcTotals> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', TOTALS_KEY).executeTakeFirst();
    return parseTotals(row?.value);
  }

  /** Adds one run to the totals (read-modify-write in a write transaction: runs on several nodes add up). */
  async addRun(run: { unlinked: number; blobsDeleted: number; bytesReclaimed: number; at: string; durationMs: number }): Promise<void> {
    await this.connection.writeTransaction(async (tx) => {
      let query = tx.selectFrom('settings').select('value').where('key', '=', TOTALS_KEY);
      if (this.connection.dialect === 'postgres') query = query.forUpdate();
      const totals = parseTotals((await query.executeTakeFirst())?.value);
      const next: GcTotals = {
        runs: totals.runs + 1,
        unlinked: totals.unlinked + run.unlinked,
        blobsDeleted: totals.blobsDeleted + run.blobsDeleted,
        bytesReclaimed: totals.bytesReclaimed + run.bytesReclaimed,
        lastRunAt: run.at,
        lastDurationMs: run.durationMs,
      };
      await tx
        .insertInto('settings')
        .values({ key: TOTALS_KEY, value: JSON.stringify(next) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(next) }))
        .execute();
    });
  }
}

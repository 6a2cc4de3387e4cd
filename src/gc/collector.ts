import type { Logger } from 'pino';
import type { Connection } from '../metadata/connect.js';
import type { BlobStore } from '../storage/blob-store.js';
import { GcStore, type BlobCandidate, type LinkCandidate } from './gc-store.js';

export interface GcOptions {
  /** Blobs and links touched more recently than this are spared (uploads whose manifest is on the way). */
  graceMs: number;
  /** Candidates per transaction. */
  batchSize?: number;
  /** Storage deletes in flight at once. */
  concurrency?: number;
}

export interface GcReport {
  dryRun: boolean;
  /** Repository links removed because no manifest of the repository names the blob. */
  unlinked: number;
  /** Blobs removed from storage (dry run: that would be). */
  blobsDeleted: number;
  bytesReclaimed: number;
  /** Removals left unfinished by an earlier collector and completed by this one. */
  resumed: number;
  durationMs: number;
}

/** A removal older than this was abandoned by a collector that died. */
const ABANDONED_AFTER_MS = 5 * 60_000;

/**
 * Online garbage collection: reclaims blobs nothing references while the registry keeps
 * serving. No stop-the-world mark and sweep: candidates come from the metadata database
 * (never a bucket listing), anything touched within the grace period is spared, and each
 * removal is a transaction that re-checks its condition against concurrent pushes and
 * mounts (see GcStore). Two phases:
 *   1. links: a repository's link to a blob no manifest of that repository names goes;
 *   2. blobs: a blob no repository links goes: its row and a removal record in one
 *      transaction, then its bytes, then the record. A publish of the same digest that
 *      meets the record waits for it to go before writing the bytes again.
 * Manifests are never collected: an untagged manifest stays until deleted or expired by a
 * lifecycle rule, and deleting it is what makes its blobs candidates.
 */
export class GarbageCollector {
  private readonly store: GcStore;
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(
    connection: Connection,
    private readonly blobs: BlobStore,
    private readonly options: GcOptions,
    private readonly log: Logger,
  ) {
    this.store = new GcStore(connection);
    this.batchSize = options.batchSize ?? 500;
    this.concurrency = options.concurrency ?? 8;
  }

  async run(opts: { dryRun?: boolean; now?: Date } = {}): Promise<GcReport> {
    const started = Date.now();
    const now = opts.now ?? new Date();
    const cutoff = new Date(now.getTime() - this.options.graceMs).toISOString();
    if (opts.dryRun) {
      const preview = await this.store.preview(cutoff);
      return { dryRun: true, unlinked: preview.links, blobsDeleted: preview.blobs, bytesReclaimed: preview.bytes, resumed: 0, durationMs: Date.now() - started };
    }
    const resumed = await this.resumeAbandoned(now);
    const unlinked = await this.unlinkUnreferenced(cutoff);
    const { count, bytes } = await this.deleteUnlinked(cutoff);
    const report: GcReport = {
      dryRun: false,
      unlinked,
      blobsDeleted: count + resumed.count,
      bytesReclaimed: bytes + resumed.bytes,
      resumed: resumed.count,
      durationMs: Date.now() - started,
    };
    await this.store.addRun({ unlinked, blobsDeleted: report.blobsDeleted, bytesReclaimed: report.bytesReclaimed, at: new Date().toISOString(), durationMs: report.durationMs });
    if (report.unlinked > 0 || report.blobsDeleted > 0) this.log.info({ gc: report }, 'garbage collection reclaimed storage');
    return report;
  }

  private async resumeAbandoned(now: Date): Promise<{ count: number; bytes: number }> {
    const before = new Date(now.getTime() - ABANDONED_AFTER_MS).toISOString();
    let count = 0;
    let bytes = 0;
    for (const removal of await this.store.unfinishedDeletions(before, 1000)) {
      if (!(await this.store.resumeDeletion(removal.digest, removal.started_at, new Date().toISOString()))) continue;
      await this.blobs.delete(removal.digest);
      await this.store.finishDeletion(removal.digest);
      count++;
      bytes += removal.size;
    }
    return { count, bytes };
  }

  private async unlinkUnreferenced(cutoff: string): Promise<number> {
    let removed = 0;
    let after: LinkCandidate | undefined;
    for (;;) {
      const batch = await this.store.linkCandidates(cutoff, this.batchSize, after);
      if (batch.length === 0) return removed;
      removed += await this.store.unlink(batch, cutoff);
      after = batch[batch.length - 1];
    }
  }

  private async deleteUnlinked(cutoff: string): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    let after: string | undefined;
    for (;;) {
      const batch = await this.store.blobCandidates(cutoff, this.batchSize, after);
      if (batch.length === 0) return { count, bytes };
      after = batch[batch.length - 1]?.digest;
      const claimed = await this.store.claimBlobs(batch, cutoff, new Date().toISOString());
      await this.removeBytes(claimed);
      count += claimed.length;
      bytes += claimed.reduce((sum, b) => sum + b.size, 0);
    }
  }

  /** Storage deletes, a few at once; each record goes only once its bytes are gone. */
  private async removeBytes(claimed: BlobCandidate[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < claimed.length) {
        const blob = claimed[next++];
        if (!blob) return;
        await this.blobs.delete(blob.digest);
        await this.store.finishDeletion(blob.digest);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, claimed.length) }, worker));
  }

  async pendingDeletions(): Promise<number> {
    return this.store.pendingDeletions();
  }

  totals() {
    return this.store.totals();
  }
}

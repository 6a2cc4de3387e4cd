import type { Logger } from 'pino';
import type { MetadataStore } from '../metadata/store.js';

const FLUSH_INTERVAL_MS = 5_000;

/**
 * Remembers when manifests were last pulled and writes the times in batches, so a
 * manifest GET costs no database write (pull times feed lifecycle rules, which count
 * in days; a few seconds of delay change nothing).
 */
export class PullRecorder {
  private pending = new Map<number, string>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  record(manifestId: number, at = new Date().toISOString()): void {
    this.pending.set(manifestId, at);
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.metadata.recordPulls(batch);
      } catch (err) {
        this.log.warn({ err, count: batch.size }, 'could not record pull times; will retry');
        for (const [id, at] of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

// The recurring 'lifecycle.run' job: every repository with a policy, once per interval,
// cluster-wide (the job queue's one keyed row; whichever process claims it runs it).
import type { Logger } from 'pino';
import type { JobQueue } from '../jobs/queue.js';
import type { LifecycleRunner } from './run.js';

export const LIFECYCLE_JOB = 'lifecycle.run';

export function scheduleLifecycle(jobs: JobQueue, runner: LifecycleRunner, intervalMs: number, log: Logger): void {
  // Turned off here: no handler, so this process never claims the job (the queue only claims
  // kinds it can run), and nodes where it is on keep running it.
  if (intervalMs <= 0) return;
  jobs.every(LIFECYCLE_JOB, intervalMs, async () => {
    const { reports, failures } = await runner.runAll();
    for (const r of reports) {
      if (r.expired.length > 0 || r.skipped.length > 0) {
        log.info({ repository: r.repository, expired: r.expired.length, skipped: r.skipped.length, bytes: r.bytes }, 'lifecycle policy expired images');
      }
    }
    // One repository's failure (a policy this version no longer accepts, say) must not stop the
    // others, nor make the job retry everything at once: logged, and tried again next interval.
    for (const f of failures) log.error({ repository: f.repository, error: f.error }, 'lifecycle policy run failed');
  });
}

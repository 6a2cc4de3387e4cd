// The recurring 'lifecycle.run' job: every repository with a policy, once per interval,
// cluster-wide (the job queue's one keyed row; whichever process claims it runs it).
import type { Logger } from 'pino';
import type { JobQueue } from '../jobs/queue.js';
import type { LifecycleRunner } from './run.js';

export const LIFECYCLE_JOB = 'lifecycle.run';

export function scheduleLifecycle(jobs: JobQueue, runner: LifecycleRunner, intervalMs: number, log: Logger): void {
  if (intervalMs <= 0) {
    // Turned off here. A row left from when it was on is still claimed: a one-off handler
    // drops it, where a missing handler would fail and retry it forever.
    jobs.handle(LIFECYCLE_JOB, async () => {
      log.info('lifecycle policies are not scheduled here (lifecycleInterval: off): dropping the lifecycle.run job');
    });
    return;
  }
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

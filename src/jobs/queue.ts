import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Connection, SqlDialectName } from '../metadata/connect.js';
import type { Database, Job } from '../metadata/schema.js';

export interface EnqueueOptions {
  /** At most one pending job per key; enqueueing an existing key does nothing. */
  key?: string;
  runAt?: Date;
  maxAttempts?: number;
}

export type JobHandler = (payload: unknown, job: Job) => Promise<void>;

interface Recurring {
  kind: string;
  intervalMs: number;
}

const LEASE_MS = 60_000;

/**
 * A durable job queue in the metadata database, shared safely by every process and node:
 * a job is claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serializes
 * writers), renewed while it runs, and picked up again by anyone once a dead worker's lease
 * expires. Failures retry with exponential backoff until max_attempts, then the job is kept
 * as 'dead' with its last error.
 */
export class JobQueue {
  private readonly db: Kysely<Database>;
  private readonly dialect: SqlDialectName;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly recurring: Recurring[] = [];
  readonly workerId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    connection: Connection,
    private readonly log: Logger,
    private readonly pollMs = 1000,
  ) {
    this.db = connection.db;
    this.dialect = connection.dialect;
  }

  handle(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Runs `kind` every `intervalMs`, cluster-wide (one keyed job, whoever claims it). */
  every(kind: string, intervalMs: number, handler: JobHandler): void {
    this.handle(kind, handler);
    this.recurring.push({ kind, intervalMs });
  }

  /** Jobs waiting per kind and status ('pending' includes running ones), for /metrics. */
  async depth(): Promise<{ kind: string; status: string; count: number }[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['kind', 'status'])
      .execute();
    return rows.map((r) => ({ kind: r.kind, status: r.status, count: Number(r.n) }));
  }

  async enqueue(kind: string, payload: unknown = {}, opts: EnqueueOptions = {}): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('jobs')
      .values({
        kind,
        key: opts.key ?? null,
        payload: JSON.stringify(payload),
        status: 'pending',
        run_at: (opts.runAt ?? new Date()).toISOString(),
        attempts: 0,
        max_attempts: opts.maxAttempts ?? 5,
        locked_by: null,
        locked_until: null,
        last_error: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
  }

  /** Claims the next due job for this worker, or undefined. */
  async claim(leaseMs = LEASE_MS): Promise<Job | undefined> {
    const now = new Date().toISOString();
    const until = new Date(Date.now() + leaseMs).toISOString();
    const lock = this.dialect === 'postgres' ? sql`for update skip locked` : sql``;
    // Only kinds this process can run: in a cluster mid-upgrade, or with a schedule turned off
    // here, another node's jobs must wait for a node that knows them, not fail here until dead.
    const kinds = [...this.handlers.keys()];
    if (kinds.length === 0) return undefined;
    const result = await sql<Job>`
      update jobs set locked_by = ${this.workerId}, locked_until = ${until}, attempts = attempts + 1, updated_at = ${now}
      where id = (
        select id from jobs
        where status = 'pending' and run_at <= ${now} and (locked_until is null or locked_until < ${now})
        and kind in (${sql.join(kinds)})
        order by run_at, id
        limit 1
        ${lock}
      )
      and (locked_until is null or locked_until < ${now})
      returning *`.execute(this.db);
    return result.rows[0];
  }

  /** Runs every due job once; returns how many ran. Used by the poll loop and by tests. */
  async runDue(): Promise<number> {
    let ran = 0;
    while (!this.stopped) {
      const job = await this.claim();
      if (!job) break;
      await this.execute(job);
      ran++;
    }
    return ran;
  }

  private async execute(job: Job): Promise<void> {
    const handler = this.handlers.get(job.kind);
    const renew = setInterval(() => {
      void this.db
        .updateTable('jobs')
        .set({ locked_until: new Date(Date.now() + LEASE_MS).toISOString() })
        .where('id', '=', job.id)
        .where('locked_by', '=', this.workerId)
        .execute()
        .catch((err: unknown) => this.log.warn({ err, job: job.id }, 'could not renew job lease'));
    }, LEASE_MS / 3);
    renew.unref();
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(JSON.parse(job.payload) as unknown, job);
      await this.finish(job);
    } catch (err) {
      await this.fail(job, err);
    } finally {
      clearInterval(renew);
    }
  }

  private async finish(job: Job): Promise<void> {
    const recurring = this.recurring.find((r) => r.kind === job.kind && job.key === recurringKey(r.kind));
    if (recurring) {
      const now = new Date();
      await this.db
        .updateTable('jobs')
        .set({
          run_at: new Date(now.getTime() + recurring.intervalMs).toISOString(),
          attempts: 0,
          locked_by: null,
          locked_until: null,
          last_error: null,
          updated_at: now.toISOString(),
        })
        .where('id', '=', job.id)
        .execute();
    } else {
      await this.db.deleteFrom('jobs').where('id', '=', job.id).execute();
    }
  }

  private async fail(job: Job, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const dead = job.attempts >= job.max_attempts && job.key !== recurringKey(job.kind);
    const backoffMs = Math.min(1000 * 2 ** job.attempts, 10 * 60_000);
    this.log.error({ err, job: job.id, kind: job.kind, attempts: job.attempts, dead }, 'job failed');
    await this.db
      .updateTable('jobs')
      .set({
        status: dead ? 'dead' : 'pending',
        run_at: new Date(Date.now() + backoffMs).toISOString(),
        // A recurring job never dies; its attempt count only paces the backoff.
        attempts: job.key === recurringKey(job.kind) ? Math.min(job.attempts, 10) : job.attempts,
        locked_by: null,
        locked_until: null,
        last_error: message.slice(0, 2000),
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', job.id)
      .execute();
  }

  /** Makes sure every recurring job exists, then polls for due work until stop(). */
  async start(): Promise<void> {
    for (const r of this.recurring) await this.enqueue(r.kind, {}, { key: recurringKey(r.kind) });
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runDue()
        .then(() => undefined)
        .catch((err: unknown) => this.log.error({ err }, 'job poll failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.pollMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.pollMs).unref();
  }

  /** Stops polling and waits for the job in hand to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}

export function recurringKey(kind: string): string {
  return `recurring:${kind}`;
}

// The durable job queue, on every database: exactly-once claiming across "nodes",
// lease expiry hand-over, retries to a dead letter, keyed and recurring jobs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, recurringKey } from '../../src/jobs/queue.js';
import { connect, type Connection } from '../../src/metadata/connect.js';
import { MetadataStore } from '../../src/metadata/store.js';
import { freshPostgresUrl, testDatabases } from '../helpers/wharf.js';

const log = pino({ level: 'silent' });

describe.each(testDatabases())('job queue on %s', (database) => {
  let url: string;
  let cleanup: () => Promise<void>;
  const connections: Connection[] = [];
  const open = async () => {
    const c = await connect(url);
    connections.push(c);
    return c;
  };

  beforeAll(async () => {
    if (database === 'postgres') {
      const pg = await freshPostgresUrl();
      url = pg.url;
      cleanup = pg.drop;
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'wharf-jobs-'));
      url = `sqlite:${join(dir, 'wharf.db')}`;
      cleanup = () => rm(dir, { recursive: true, force: true });
    }
    await new MetadataStore(await open()).migrate();
  });
  afterAll(async () => {
    for (const c of connections) await c.close();
    await cleanup();
  });

  it('runs each of 40 jobs exactly once when two nodes poll at the same time', async () => {
    const a = new JobQueue(await open(), log);
    const b = new JobQueue(await open(), log);
    const seen: number[] = [];
    for (const q of [a, b]) {
      q.handle('count', async (payload) => {
        await new Promise((r) => setTimeout(r, 2));
        seen.push((payload as { n: number }).n);
      });
    }
    for (let n = 0; n < 40; n++) await a.enqueue('count', { n });
    const [ranA, ranB] = await Promise.all([a.runDue(), b.runDue()]);
    expect(ranA + ranB).toBe(40);
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await a.claim()).toBeUndefined();
  });

  it('leaves a job of a kind it cannot run to a node that can (a rolling upgrade, a schedule off here)', async () => {
    const older = new JobQueue(await open(), log);
    older.handle('known', async () => undefined);
    const newer = new JobQueue(await open(), log);
    const ran: string[] = [];
    newer.handle('newer.kind', async () => {
      ran.push('newer.kind');
    });
    await newer.enqueue('newer.kind', {});
    for (let i = 0; i < 5; i++) expect(await older.runDue()).toBe(0);
    expect(await newer.runDue()).toBe(1);
    expect(ran).toEqual(['newer.kind']);
  });

  it('hands a job whose worker died (lease expired) to another worker', async () => {
    const dead = new JobQueue(await open(), log);
    const alive = new JobQueue(await open(), log);
    let ran = 0;
    alive.handle('orphan', async () => void ran++);
    dead.handle('orphan', async () => undefined); // it could run the job; it dies holding it
    await dead.enqueue('orphan');
    const claimed = await dead.claim(50);
    expect(claimed?.kind).toBe('orphan');
    expect(await alive.claim()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 80));
    expect(await alive.runDue()).toBe(1);
    expect(ran).toBe(1);
  });

  it('retries a failing job and keeps it as dead after max attempts', async () => {
    const conn = await open();
    const q = new JobQueue(conn, log);
    let calls = 0;
    q.handle('flaky', async () => {
      calls++;
      throw new Error('boom');
    });
    await q.enqueue('flaky', {}, { maxAttempts: 2 });
    expect(await q.runDue()).toBe(1);
    // Backoff moved it into the future; make it due again.
    await conn.db.updateTable('jobs').set({ run_at: new Date(0).toISOString() }).where('kind', '=', 'flaky').execute();
    expect(await q.runDue()).toBe(1);
    const row = await conn.db.selectFrom('jobs').selectAll().where('kind', '=', 'flaky').executeTakeFirstOrThrow();
    expect(calls).toBe(2);
    expect(row.status).toBe('dead');
    expect(row.last_error).toBe('boom');
    await conn.db.updateTable('jobs').set({ run_at: new Date(0).toISOString() }).where('kind', '=', 'flaky').execute();
    expect(await q.runDue()).toBe(0);
  });

  it('keeps one pending job per key and reschedules recurring jobs', async () => {
    const conn = await open();
    const q = new JobQueue(conn, log);
    let ticks = 0;
    q.every('tick', 60_000, async () => void ticks++);
    await q.enqueue('tick', {}, { key: recurringKey('tick') });
    await q.enqueue('tick', {}, { key: recurringKey('tick') });
    const rows = await conn.db.selectFrom('jobs').selectAll().where('kind', '=', 'tick').execute();
    expect(rows).toHaveLength(1);
    expect(await q.runDue()).toBe(1);
    expect(ticks).toBe(1);
    const after = await conn.db.selectFrom('jobs').selectAll().where('kind', '=', 'tick').executeTakeFirstOrThrow();
    expect(Date.parse(after.run_at)).toBeGreaterThan(Date.now() + 50_000);
    expect(after.locked_by).toBeNull();
  });
});

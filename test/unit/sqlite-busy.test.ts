// Waiting for SQLite's write lock must not stop the event loop: with `--workers 2` the lock
// holder is the other worker, and every request of this one would wait with it. Here the
// holder is a second connection in this process, released by a timer: a blocking wait would
// never let that timer run.
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Connection } from '../../src/metadata/connect.js';

describe('SQLite busy lock', () => {
  let dir: string;
  let conn: Connection;
  let holder: Database.Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-busy-'));
    const file = join(dir, 'db.sqlite');
    conn = await connect(`sqlite:${file}`);
    await sql`create table t (x integer)`.execute(conn.db);
    holder = new Database(file);
  });
  afterEach(async () => {
    holder.close();
    await conn.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('waits for another connection\'s write lock while timers keep running', async () => {
    holder.exec('begin immediate');
    holder.exec('insert into t values (1)');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    setTimeout(() => holder.exec('commit'), 300);
    const started = Date.now();
    await sql`insert into t values (2)`.execute(conn.db);
    clearInterval(ticker);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(ticks).toBeGreaterThan(10);
    const rows = await sql<{ x: number }>`select x from t order by x`.execute(conn.db);
    expect(rows.rows.map((r) => r.x)).toEqual([1, 2]);
  });

  it('a write transaction waits at BEGIN IMMEDIATE the same way, then runs whole', async () => {
    holder.exec('begin immediate');
    setTimeout(() => holder.exec('commit'), 200);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    await conn.writeTransaction(async (db) => {
      await sql`insert into t values (3)`.execute(db);
      await sql`insert into t values (4)`.execute(db);
    });
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(5);
    const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(conn.db);
    expect(rows.rows[0]!.n).toBe(2);
  });

  it('gives up with SQLITE_BUSY when the lock is never released', async () => {
    holder.exec('begin immediate');
    const started = Date.now();
    await expect(sql`insert into t values (5)`.execute(conn.db)).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    holder.exec('rollback');
  }, 15_000);
});

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { BusyRetryingSqliteDialect } from './sqlite-busy.js';
import type { Database } from './schema.js';

export type SqlDialectName = 'sqlite' | 'postgres';

export interface Connection {
  db: Kysely<Database>;
  dialect: SqlDialectName;
  /** Where it points, without credentials, for logs. */
  description: string;
  /** PostgreSQL schema the tables live in, when not the default search path. */
  schema?: string;
  /**
   * Runs `fn` in a transaction that intends to write. On SQLite it takes the write lock at
   * BEGIN (IMMEDIATE): a deferred transaction that reads and then writes while another
   * process commits can only fail, and several processes share one SQLite file in cluster mode.
   */
  writeTransaction<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}


/**
 * Opens the metadata database named by a URL:
 *   sqlite:<path>            (relative paths resolve against the working directory)
 *   postgres://user@host/db  (optionally ?schema=name, created if absent: lets tests and
 *                             tenants share one database)
 */
export async function connect(url: string): Promise<Connection> {
  if (url.startsWith('sqlite:')) return connectSqlite(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return connectPostgres(url);
  throw new Error(`unsupported database URL "${redact(url)}": use sqlite:<path> or postgres://...`);
}

// Drivers load on demand: a process uses one of them, and each costs memory.
async function connectSqlite(path: string): Promise<Connection> {
  const { default: SQLite } = await import('better-sqlite3');
  const file = path === ':memory:' ? path : resolve(path);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // NORMAL in WAL mode stays consistent after a crash; only the last commits may roll back on power loss.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  cachePreparedStatements(sqlite);
  // From here on a busy lock is waited for without blocking the event loop (sqlite-busy.ts).
  const db = new Kysely<Database>({ dialect: new BusyRetryingSqliteDialect(sqlite) });
  return {
    db,
    dialect: 'sqlite',
    description: `sqlite:${file}`,
    writeTransaction: (fn) =>
      // connection(): the single SQLite connection, held (Kysely's mutex) until fn settles.
      db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await fn(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (err) {
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw err;
        }
      }),
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Kysely prepares every query afresh; better-sqlite3 statements are reusable, and
 * preparing is a large share of a small query's cost. Keep the most recent ones.
 */
function cachePreparedStatements(sqlite: import('better-sqlite3').Database, max = 256): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, ReturnType<typeof prepare>>();
  sqlite.prepare = ((source: string) => {
    let stmt = cache.get(source);
    if (stmt) {
      cache.delete(source);
    } else {
      stmt = prepare(source);
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    }
    cache.set(source, stmt);
    return stmt;
  }) as typeof sqlite.prepare;
}

async function connectPostgres(rawUrl: string): Promise<Connection> {
  const { default: pg } = await import('pg');
  // int8 columns (sizes) arrive as strings by default; every size we store fits a double exactly.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const url = new URL(rawUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid schema name "${schema}" in database URL (lowercase letters, digits, _)`);
  }
  const connectionString = url.toString();
  if (schema) {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // Fail fast with a clear message instead of on the first request.
  const probe = await pool.connect().catch((err: unknown) => {
    void pool.end();
    throw new Error(`cannot connect to PostgreSQL at ${redact(rawUrl)}: ${(err as Error).message}`);
  });
  probe.release();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    description: redact(rawUrl),
    writeTransaction: (fn) => db.transaction().execute(fn),
    ...(schema ? { schema } : {}),
    async close() {
      await db.destroy();
    },
  };
}

/** A database URL with its password removed, safe to log. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

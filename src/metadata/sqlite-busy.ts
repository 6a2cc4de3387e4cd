import type BetterSqlite3 from 'better-sqlite3';
import { SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';

/** How long a statement keeps retrying while another process holds SQLite's write lock. */
const BUSY_WAIT_MS = 5000;

/**
 * SQLite lets one process write at a time. With SQLite's own busy handler (busy_timeout),
 * a statement that finds the lock taken sleeps inside the synchronous driver call, and the
 * whole event loop with it: with `--workers 2` every request on that worker stopped for
 * 1-100 ms at each collision. Here the busy timeout is 0, and a statement that gets
 * SQLITE_BUSY outside a transaction (an autocommit statement, or the BEGIN IMMEDIATE of a
 * write transaction; either way nothing was done) is retried after an asynchronous,
 * jittered back-off while the event loop serves other requests. Inside a transaction the
 * error is passed on as before: the statement cannot be retried on its own there.
 */
export class BusyRetryingSqliteDialect extends SqliteDialect {
  constructor(private readonly sqlite: BetterSqlite3.Database) {
    super({ database: sqlite });
    sqlite.pragma('busy_timeout = 0');
  }

  override createDriver(): Driver {
    return new BusyRetryingDriver(super.createDriver(), this.sqlite);
  }
}

class BusyRetryingDriver implements Driver {
  /** SQLite's driver has one connection: wrapped once. */
  private wrapped: BusyRetryingConnection | undefined;

  constructor(
    private readonly inner: Driver,
    private readonly sqlite: BetterSqlite3.Database,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    if (this.wrapped?.inner !== connection) this.wrapped = new BusyRetryingConnection(connection, this.sqlite);
    return this.wrapped;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.inner.releaseConnection(connection instanceof BusyRetryingConnection ? connection.inner : connection);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class BusyRetryingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly sqlite: BetterSqlite3.Database,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + BUSY_WAIT_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 32)) {
      const retryable = !this.sqlite.inTransaction;
      try {
        return await this.inner.executeQuery<R>(query);
      } catch (err) {
        if (!retryable || !isBusy(err) || Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random())));
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY_') && code !== 'SQLITE_BUSY_SNAPSHOT');
}

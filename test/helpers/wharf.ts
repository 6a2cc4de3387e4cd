// Starts a real Wharf server on a loopback port with a fresh data directory.
// database 'postgres' uses WHARF_TEST_POSTGRES_URL with a fresh schema per server.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config/config.js';
import { createWharf, type Wharf } from '../../src/server/app.js';

export interface TestRegistry {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  /** e.g. 127.0.0.1:40123, what clients put in image references */
  host: string;
  dataDir: string;
  stop(): Promise<void>;
}

export interface TestWharf extends TestRegistry {
  wharf: Wharf;
  databaseUrl: string;
}

export type TestDatabase = 'sqlite' | 'postgres';

export interface StartOptions {
  database?: TestDatabase;
  /** extra configuration, same keys as wharf.yaml */
  config?: Record<string, unknown>;
  /** reuse a data directory / database (restart tests) */
  dataDir?: string;
  databaseUrl?: string;
}

/** The databases every protocol test runs on: sqlite always, postgres when WHARF_TEST_POSTGRES_URL is set. */
export function testDatabases(): TestDatabase[] {
  return process.env.WHARF_TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** A fresh, empty PostgreSQL schema on the test server, and a way to drop it. */
export async function freshPostgresUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.WHARF_TEST_POSTGRES_URL;
  if (!base) throw new Error('WHARF_TEST_POSTGRES_URL is not set');
  const schema = `wharf_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function startWharf(opts: StartOptions = {}): Promise<TestWharf> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'wharf-test-')));
  let databaseUrl = opts.databaseUrl;
  let dropSchema: (() => Promise<void>) | undefined;
  if (!databaseUrl && opts.database === 'postgres') {
    const fresh = await freshPostgresUrl();
    databaseUrl = fresh.url;
    dropSchema = fresh.drop;
  }
  const config = loadConfig({
    env: {},
    cwd: dataDir,
    flags: {
      listen: '127.0.0.1:0',
      dataDir,
      logLevel: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent',
      // Protocol and client tests exercise the registry itself; test/auth turns IAM on.
      auth: 'none',
      ...(databaseUrl ? { databaseUrl } : {}),
      ...opts.config,
    },
  });
  const wharf = await createWharf(config);
  const { port } = await wharf.listen();
  return {
    wharf,
    databaseUrl: config.databaseUrl,
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    dataDir,
    async stop() {
      await wharf.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
      await dropSchema?.();
    },
  };
}

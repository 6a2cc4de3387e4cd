// Runs once before the suite: when CI requires the PostgreSQL leg, an unreachable
// server fails the run instead of silently testing SQLite alone.
import pg from 'pg';

export default async function setup(): Promise<void> {
  const url = process.env.WHARF_TEST_POSTGRES_URL;
  if (!url) {
    if (process.env.WHARF_TEST_REQUIRE_POSTGRES) throw new Error('WHARF_TEST_REQUIRE_POSTGRES is set but WHARF_TEST_POSTGRES_URL is not');
    console.warn('WHARF_TEST_POSTGRES_URL is not set: the PostgreSQL leg of the suite is skipped');
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(`PostgreSQL at ${url} is unreachable (${(err as Error).message}); start it or unset WHARF_TEST_POSTGRES_URL`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

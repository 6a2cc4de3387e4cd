// The lifecycleInterval setting and the recurring 'lifecycle.run' job: a server with a short
// interval expires images on its own, on every test database; with `off` there is no job, and
// a leftover job row is dropped rather than failed forever.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { recurringKey } from '../../src/jobs/queue.js';
import { LIFECYCLE_JOB } from '../../src/lifecycle/schedule.js';
import { testDatabases, type TestWharf } from '../helpers/wharf.js';
import { ecrClient, startEcrWharf } from '../ecr-api/helpers.js';
import { age, auditRows, digestsIn, push, standardPolicy } from './run-fixtures.js';

describe('lifecycleInterval', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-lifecycle-config-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const load = (opts: { env?: Record<string, string>; flags?: Record<string, unknown> }) => loadConfig({ cwd: dir, env: opts.env ?? {}, flags: opts.flags ?? {} });

  it('defaults to 1h; takes durations from the file, WHARF_LIFECYCLE_INTERVAL and --lifecycle-interval; off or 0 turns it off', async () => {
    expect(load({}).lifecycleIntervalMs).toBe(3_600_000);
    const file = join(dir, 'wharf.yaml');
    await writeFile(file, 'lifecycleInterval: 6h\n');
    expect(loadConfig({ cwd: dir, env: {} }).lifecycleIntervalMs).toBe(6 * 3_600_000);
    expect(loadConfig({ cwd: dir, env: { WHARF_LIFECYCLE_INTERVAL: '15m' } }).lifecycleIntervalMs).toBe(15 * 60_000);
    expect(loadConfig({ cwd: dir, env: { WHARF_LIFECYCLE_INTERVAL: '15m' }, flags: { lifecycleInterval: '1d' } }).lifecycleIntervalMs).toBe(86_400_000);
    await writeFile(file, 'lifecycleInterval: off\n');
    expect(loadConfig({ cwd: dir, env: {} }).lifecycleIntervalMs).toBe(0);
    await rm(file);
    expect(load({ env: { WHARF_LIFECYCLE_INTERVAL: 'off' } }).lifecycleIntervalMs).toBe(0);
    expect(load({ env: { WHARF_LIFECYCLE_INTERVAL: '0' } }).lifecycleIntervalMs).toBe(0);
    expect(load({ flags: { lifecycleInterval: 'OFF' } }).lifecycleIntervalMs).toBe(0);
  });

  it('refuses other values, naming the setting where it came from', () => {
    expect(() => load({ env: { WHARF_LIFECYCLE_INTERVAL: 'hourly' } })).toThrow(ConfigError);
    expect(() => load({ env: { WHARF_LIFECYCLE_INTERVAL: 'hourly' } })).toThrow(
      /WHARF_LIFECYCLE_INTERVAL: "hourly" is not a duration: use e\.g\. 30m, 1h or 1d, or off \(or 0\) to turn it off/,
    );
    expect(() => load({ flags: { lifecycleInterval: '-5m' } })).toThrow(/--lifecycle-interval: "-5m" is not a duration/);
  });
});

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each(testDatabases())('the scheduled lifecycle.run job (%s)', (database) => {
  let server: TestWharf;
  beforeAll(async () => {
    server = await startEcrWharf(database, { lifecycleInterval: '500ms' });
  });
  afterAll(async () => server?.stop());

  it('runs every repository with a policy on its own, and audits what it expired', async () => {
    const repo = 'sched/app';
    const other = 'sched/no-policy';
    const old = await push(server.url, repo);
    const recent = await push(server.url, repo);
    const untouched = await push(server.url, other);
    await age(server, repo, [old.digest], 30);
    await age(server, other, [untouched.digest], 30);
    await ecrClient(server).send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: standardPolicy() }));

    await until('the old image to expire', async () => !(await digestsIn(server, repo)).includes(old.digest));
    expect(await digestsIn(server, repo)).toEqual([recent.digest]);
    expect(await digestsIn(server, other)).toEqual([untouched.digest]);
    const audit = await auditRows(server, repo);
    expect(audit).toEqual([{ actor: 'wharf:lifecycle', action: 'LifecycleExpire', detail: { digest: old.digest, tags: [], rulePriority: 2 } }]);

    const db = server.wharf.registry.metadata.connection.db;
    const job = await db.selectFrom('jobs').selectAll().where('key', '=', recurringKey(LIFECYCLE_JOB)).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ kind: LIFECYCLE_JOB, status: 'pending', last_error: null });
  });
});

describe('lifecycleInterval: off', () => {
  let server: TestWharf;
  beforeAll(async () => {
    server = await startEcrWharf('sqlite', { lifecycleInterval: 'off' });
  });
  afterAll(async () => server?.stop());

  it('schedules nothing, and leaves a job row from elsewhere to nodes that run it (never failing it)', async () => {
    const db = server.wharf.registry.metadata.connection.db;
    expect(await db.selectFrom('jobs').select('id').where('kind', '=', LIFECYCLE_JOB).execute()).toEqual([]);
    await server.wharf.jobs.enqueue(LIFECYCLE_JOB, {}, { key: recurringKey(LIFECYCLE_JOB) });
    await server.wharf.jobs.runDue();
    await new Promise((r) => setTimeout(r, 1500));
    const rows = await db.selectFrom('jobs').select(['status', 'attempts']).where('kind', '=', LIFECYCLE_JOB).execute();
    expect(rows).toEqual([{ status: 'pending', attempts: 0 }]);
    expect(await db.selectFrom('jobs').select('id').where('status', '=', 'dead').execute()).toEqual([]);
  });
});

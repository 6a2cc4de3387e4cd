// `wharf lifecycle run` (the built CLI) against a running server's database, on every test
// database: --dry-run output as a table and as JSON (the same as the server's own dry run),
// a real run, and its errors and exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutLifecyclePolicyCommand, CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { testDatabases, type TestWharf } from '../helpers/wharf.js';
import { cleanEnv, runNode, WHARF } from '../cli/cli.js';
import { ecrClient, startEcrWharf } from '../ecr-api/helpers.js';
import type { LifecycleReport } from '../../src/lifecycle/run.js';
import { auditRows, digestsIn, push, seedRepository, standardPolicy } from './run-fixtures.js';

const short = (digest: string) => digest.slice(0, 'sha256:'.length + 12);

describe.each(testDatabases())('wharf lifecycle run (%s)', (database) => {
  let server: TestWharf;
  let seed: Awaited<ReturnType<typeof seedRepository>>;
  const wharf = (args: string[]) => runNode(WHARF, ['lifecycle', 'run', ...args, '--data-dir', server.dataDir, '--database-url', server.databaseUrl], { env: cleanEnv(), cwd: server.dataDir });

  beforeAll(async () => {
    server = await startEcrWharf(database, { lifecycleInterval: 'off' });
    const ecr = ecrClient(server);
    seed = await seedRepository(server, 'cli/app');
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'cli/app', lifecyclePolicyText: standardPolicy() }));
    await push(server.url, 'cli/quiet', 'v1');
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'cli/quiet', lifecyclePolicyText: standardPolicy() }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'cli/none' }));
  });
  afterAll(async () => server?.stop());

  it('--dry-run prints what would expire, per repository, and deletes nothing', async () => {
    const res = await wharf(['--dry-run']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const [app, quiet] = res.stdout.trimEnd().split('\n\n');
    const lines = app!.split('\n');
    expect(lines[0]).toMatch(/^cli\/app: would expire 7 images \(\d+(\.\d)? KiB\)$/);
    expect(lines[1]).toMatch(/^ {2}DIGEST\s+TAGS\s+PUSHED\s+RULE\s+SIZE\s+NOTE$/);
    expect(lines).toHaveLength(2 + seed.expected.length);
    for (const d of seed.expected) expect(app).toContain(short(d));
    const v1 = lines.find((l) => l.includes(short(seed.v[0]!.digest)))!;
    expect(v1).toMatch(/ v1 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +1 +\d+ B +-$/);
    const child = lines.find((l) => l.includes(short(seed.oldIndex.children[0]!)))!;
    expect(child).toContain(`with ${short(seed.oldIndex.digest)}`);
    expect(quiet).toBe('cli/quiet: would expire 0 images');
    expect(await digestsIn(server, 'cli/app')).toEqual([...seed.expected, ...seed.kept].sort());

    const json = await wharf(['--dry-run', '--json']);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as { dryRun: boolean; repositories: LifecycleReport[]; failures: unknown[] };
    expect(out.dryRun).toBe(true);
    expect(out.failures).toEqual([]);
    expect(out.repositories.map((r) => r.repository)).toEqual(['cli/app', 'cli/quiet']);
    const server_ = await server.wharf.lifecycle.run('cli/app', { dryRun: true });
    expect(out.repositories[0]!.expired).toEqual(server_.expired);
    expect(out.repositories[0]!.bytes).toBe(server_.bytes);
    expect(JSON.parse((await wharf(['--dry-run', '--repository', 'cli/app', '-o', 'json'])).stdout)).toMatchObject({ repositories: [{ repository: 'cli/app', expired: server_.expired }] });
  });

  it('errors: a repository without a policy or missing (exit 1), a bad name (exit 2)', async () => {
    const none = await wharf(['--repository', 'cli/none']);
    expect(none).toMatchObject({ code: 1, stdout: '', stderr: "wharf: The repository with name 'cli/none' has no lifecycle policy\n" });
    const absent = await wharf(['--repository', 'cli/absent', '--dry-run']);
    expect(absent).toMatchObject({ code: 1, stderr: "wharf: The repository with name 'cli/absent' does not exist\n" });
    const bad = await wharf(['--repository', 'Not A Name']);
    expect(bad).toMatchObject({ code: 2, stderr: 'wharf: invalid repository name "Not A Name"\n' });
  });

  it('a real run deletes what the dry run listed, and audits it', async () => {
    const res = await wharf(['--repository', 'cli/app']);
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')[0]).toMatch(/^cli\/app: expired 7 images \(/);
    expect(await digestsIn(server, 'cli/app')).toEqual(seed.kept);
    expect((await auditRows(server, 'cli/app')).map((a) => a.detail.digest).sort()).toEqual(seed.expected);
    const again = await wharf([]);
    expect(again.stdout).toBe('cli/app: expired 0 images\n\ncli/quiet: expired 0 images\n');
  });
});

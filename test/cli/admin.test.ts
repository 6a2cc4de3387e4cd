// The identity-management commands, run from the built CLI against a fresh data directory:
// users, groups, managed and inline policies (a malformed one refused with the validator's
// message), access keys (secret shown once, stored only encrypted), repository and registry
// policies, and the audit trail every change leaves.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy, PolicyValidationError } from '../../src/auth/policy/index.js';
import { MasterKey } from '../../src/auth/secrets.js';
import { cleanEnv, runNode, WHARF, wharfCli } from './cli.js';

const ALLOW_PULL = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: 'arn:aws:ecr:*:*:repository/team/*' }],
});
const MALFORMED = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Maybe', Action: 'ecr:*', Resource: '*' }] });
const REPO_POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }] });

/** What the policy engine says about a document (the CLI must print exactly that). */
function validatorMessage(doc: string, kind: 'identity' | 'resource'): string {
  try {
    parsePolicy(doc, kind);
  } catch (err) {
    if (err instanceof PolicyValidationError) return err.message;
    throw err;
  }
  throw new Error('document unexpectedly valid');
}

// Each CLI run is a process start (~0.5 s, several under load): generous timeouts.
describe('wharf identity commands', { timeout: 180_000 }, () => {
  let dir: string;
  let dataDir: string;
  let cli: ReturnType<typeof wharfCli>;
  /** Every secret the tests saw: none may reach the audit trail. */
  const secrets: string[] = ['bobs-password-is-long', 'another-long-password'];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-cli-'));
    dataDir = join(dir, 'data');
    cli = wharfCli({ dataDir, cwd: dir, env: { WHARF_ADMIN_PASSWORD: 'admin-password-for-cli-tests' } });
    await writeFile(join(dir, 'pull.json'), ALLOW_PULL);
    await writeFile(join(dir, 'malformed.json'), MALFORMED);
    await writeFile(join(dir, 'repo.json'), REPO_POLICY);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('help exits 0; usage errors exit 2 with a message', async () => {
    const env = cleanEnv();
    for (const args of [['--help'], ['user', '--help'], ['policy', 'put-inline', '--help'], ['key', 'create', '--help'], ['login', '--help']]) {
      const res = await runNode(WHARF, args, { env, cwd: dir });
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout).toContain('Usage: wharf');
    }
    const noSub = await runNode(WHARF, ['user'], { env, cwd: dir });
    expect(noSub.code).toBe(2);
    const unknown = await cli(['user', 'create', 'bob', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const badName = await cli(['user', 'create', 'no spaces!']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toBe('wharf: invalid user name "no spaces!": use 1 to 64 letters, digits and + = , . @ _ -\n');
    const badOutput = await cli(['user', 'list', '--output', 'xml']);
    expect(badOutput.code).toBe(2);
    const both = await cli(['policy', 'attach', 'P', '--user', 'a', '--group', 'b']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('wharf: give exactly one of --user USER or --group GROUP\n');
  });

  it('users: create (with tags and a generated password), refuse duplicates, list, set a password', async () => {
    const alice = await cli.json<{ name: string; id: string; arn: string; password: string; tags: Record<string, string> }>([
      'user', 'create', 'alice', '--generate-password', '--tag', 'team=blue', '--tag', 'env=prod',
    ]);
    expect(alice).toMatchObject({ name: 'alice', tags: { team: 'blue', env: 'prod' } });
    expect(alice.id).toMatch(/^AIDA[A-Z2-7]{16}$/);
    expect(alice.arn).toMatch(/^arn:aws:iam::\d{12}:user\/alice$/);
    expect(alice.password.length).toBeGreaterThanOrEqual(20);
    secrets.push(alice.password);

    const again = await cli(['user', 'create', 'alice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('wharf: user alice already exists\n');

    await cli.ok(['user', 'create', 'bob', '--password-stdin'], 'bobs-password-is-long\n');
    const short = await cli(['user', 'set-password', 'bob', '--password-stdin'], 'short\n');
    expect(short.code).toBe(2);
    await cli.ok(['user', 'set-password', 'bob', '--password-stdin'], 'another-long-password\n');
    const neither = await cli(['user', 'set-password', 'bob']);
    expect(neither.code).toBe(2);

    const users = await cli.json<{ name: string; password: boolean }[]>(['user', 'list']);
    // admin was created on first use of the database, as `wharf serve` would have.
    expect(users.map((u) => u.name)).toEqual(['admin', 'alice', 'bob']);
    const table = await cli.ok(['user', 'list']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+ID\s+CREATED\s+PASSWORD\s+KEYS\s+TAGS$/);
    expect(table).toMatch(/alice .* team=blue,env=prod/);

    const missing = await cli(['user', 'delete', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('wharf: user nobody does not exist\n');
    await cli.ok(['user', 'delete', 'bob']);
  });

  it('groups: create, add and remove users, list', async () => {
    await cli.ok(['group', 'create', 'devs']);
    expect((await cli(['group', 'create', 'devs'])).code).toBe(1);
    await cli.ok(['group', 'add-user', 'devs', 'alice']);
    const noUser = await cli(['group', 'add-user', 'devs', 'nobody']);
    expect(noUser.code).toBe(1);
    expect(noUser.stderr).toBe('wharf: user nobody does not exist\n');
    await cli.ok(['group', 'create', 'temp']);
    await cli.ok(['group', 'add-user', 'temp', 'alice']);
    await cli.ok(['group', 'remove-user', 'temp', 'alice']);
    expect((await cli(['group', 'remove-user', 'temp', 'alice'])).code).toBe(1);
    await cli.ok(['group', 'delete', 'temp']);
    const groups = await cli.json<{ name: string; members: string[] }[]>(['group', 'list']);
    expect(groups).toEqual([expect.objectContaining({ name: 'devs', members: ['alice'] })]);
  });

  it('policies: managed and inline, validated by the policy engine, attached and shown', async () => {
    await cli.ok(['policy', 'create', 'TeamPull', '--document', join(dir, 'pull.json')]);
    const bad = await cli(['policy', 'create', 'Broken', '--document', join(dir, 'malformed.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`wharf: ${validatorMessage(MALFORMED, 'identity')}\n`);
    expect(bad.stderr).toContain('MalformedPolicyDocument: Statement[0].Effect');
    expect((await cli(['policy', 'put-inline', '--user', 'alice', '--name', 'x', '--document', '-'], 'not json')).stderr).toMatch(/^wharf: MalformedPolicyDocument: Syntax errors in policy/);
    const names = (await cli.json<{ name: string }[]>(['policy', 'list'])).map((p) => p.name);
    expect(names).toEqual(['TeamPull']);

    await cli.ok(['policy', 'attach', 'TeamPull', '--group', 'devs']);
    await cli.ok(['policy', 'put-inline', '--user', 'alice', '--name', 'own-pull', '--document', '-'], ALLOW_PULL);
    expect(JSON.parse(await cli.ok(['policy', 'get-inline', '--user', 'alice', '--name', 'own-pull']))).toEqual(JSON.parse(ALLOW_PULL));

    const shown = await cli.json<{ attachedTo: { kind: string; name: string }[]; document: unknown }>(['policy', 'show', 'TeamPull']);
    expect(shown.attachedTo).toEqual([{ kind: 'group', name: 'devs' }]);
    expect(shown.document).toEqual(JSON.parse(ALLOW_PULL));

    const attached = await cli(['policy', 'delete', 'TeamPull']);
    expect(attached.code).toBe(1);
    expect(attached.stderr).toBe('wharf: policy TeamPull is attached to group devs: detach it first, or pass --force\n');

    await cli.ok(['policy', 'update', 'TeamPull', '--document', '-'], ALLOW_PULL.replace('team/*', 'team/app'));
    expect((await cli(['policy', 'update', 'Missing', '--document', join(dir, 'pull.json')])).code).toBe(1);

    const user = await cli.json<{ inlinePolicies: string[]; attachedPolicies: string[]; groups: { name: string; attachedPolicies: string[] }[] }>(['user', 'show', 'alice']);
    expect(user.inlinePolicies).toEqual(['own-pull']);
    expect(user.groups).toEqual([{ name: 'devs', inlinePolicies: [], attachedPolicies: ['TeamPull'] }]);

    await cli.ok(['policy', 'create', 'Scratch', '--document', join(dir, 'pull.json')]);
    await cli.ok(['policy', 'attach', 'Scratch', '--user', 'alice']);
    await cli.ok(['policy', 'detach', 'Scratch', '--user', 'alice']);
    expect((await cli(['policy', 'detach', 'Scratch', '--user', 'alice'])).code).toBe(1);
    await cli.ok(['policy', 'delete', 'Scratch']);
    await cli.ok(['policy', 'put-inline', '--group', 'devs', '--name', 'g', '--document', join(dir, 'pull.json')]);
    await cli.ok(['policy', 'delete-inline', '--group', 'devs', '--name', 'g']);
    expect((await cli(['policy', 'delete-inline', '--group', 'devs', '--name', 'g'])).code).toBe(1);
  });

  it('access keys: at most two, secret printed once and stored only encrypted, deactivate and delete', async () => {
    const first = await cli.json<{ accessKeyId: string; secretAccessKey: string }>(['key', 'create', 'alice']);
    expect(first.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(first.secretAccessKey).toHaveLength(40);
    const tableOut = await cli.ok(['key', 'create', 'alice']);
    const second = /access key id:\s+(AKIA\S+)/.exec(tableOut)![1]!;
    const secondSecret = /secret access key:\s+(\S+)/.exec(tableOut)![1]!;
    expect(tableOut).toContain('shown only this once');
    secrets.push(first.secretAccessKey, secondSecret);

    const third = await cli(['key', 'create', 'alice']);
    expect(third.code).toBe(1);
    expect(third.stderr).toMatch(/^wharf: user alice already has 2 access keys, the limit: delete one first/);

    const listed = await cli.ok(['key', 'list', 'alice', '--output', 'json']);
    expect(listed).not.toContain(first.secretAccessKey);
    expect(JSON.parse(listed)).toEqual([
      { id: first.accessKeyId, user: 'alice', status: 'Active', createdAt: expect.any(String), lastUsedAt: null },
      { id: second, user: 'alice', status: 'Active', createdAt: expect.any(String), lastUsedAt: null },
    ]);
    expect(await cli.ok(['user', 'show', 'alice'])).not.toContain(first.secretAccessKey);

    // The database holds ciphertext under the master key, and nowhere the secret itself.
    const db = new SQLite(join(dataDir, 'wharf.db'), { readonly: true });
    try {
      const row = db.prepare('select secret_encrypted from access_keys where id = ?').get(first.accessKeyId) as { secret_encrypted: string };
      expect(row.secret_encrypted).toMatch(/^v1\$/);
      expect(row.secret_encrypted).not.toContain(first.secretAccessKey);
      const master = await MasterKey.load(join(dataDir, 'master.key'));
      expect(master.decrypt(row.secret_encrypted)).toBe(first.secretAccessKey);
    } finally {
      db.close();
    }
    for (const file of await readdir(dataDir)) {
      if (!file.startsWith('wharf.db')) continue;
      const bytes = await readFile(join(dataDir, file));
      expect(bytes.includes(first.secretAccessKey), file).toBe(false);
      expect(bytes.includes(secondSecret), file).toBe(false);
    }

    await cli.ok(['key', 'deactivate', first.accessKeyId]);
    const afterDeactivate = await cli.json<{ id: string; status: string }[]>(['key', 'list', 'alice']);
    expect(afterDeactivate.find((k) => k.id === first.accessKeyId)?.status).toBe('Inactive');
    await cli.ok(['key', 'activate', first.accessKeyId]);
    await cli.ok(['key', 'delete', first.accessKeyId]);
    expect((await cli.json<{ id: string }[]>(['key', 'list', 'alice'])).map((k) => k.id)).toEqual([second]);
    const gone = await cli(['key', 'delete', first.accessKeyId]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`wharf: access key ${first.accessKeyId} does not exist\n`);
    expect((await cli(['key', 'delete', 'not-a-key'])).code).toBe(2);
  });

  it('repositories and the registry: visibility, repository policy, registry policy', async () => {
    const missing = await cli(['repo', 'visibility', 'team/app', 'public']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('wharf: repository team/app does not exist (push to it first, or pass --create)\n');
    await cli.ok(['repo', 'visibility', 'team/app', 'public', '--create']);
    expect((await cli.ok(['repo', 'visibility', 'team/app'])).trim()).toBe('public');
    expect((await cli(['repo', 'visibility', 'team/app', 'open'])).code).toBe(2);
    expect((await cli(['repo', 'visibility', 'Not/Valid', 'public'])).code).toBe(2);

    // A repository policy is a resource policy: it must name a Principal.
    const noPrincipal = await cli(['repo', 'policy', 'set', 'team/app', '--document', join(dir, 'pull.json')]);
    expect(noPrincipal.code).toBe(1);
    expect(noPrincipal.stderr).toBe(`wharf: ${validatorMessage(ALLOW_PULL, 'resource')}\n`);
    expect((await cli(['repo', 'policy', 'get', 'team/app'])).code).toBe(1);
    await cli.ok(['repo', 'policy', 'set', 'team/app', '--document', join(dir, 'repo.json')]);
    expect(JSON.parse(await cli.ok(['repo', 'policy', 'get', 'team/app']))).toEqual(JSON.parse(REPO_POLICY));
    await cli.ok(['repo', 'policy', 'delete', 'team/app']);
    expect((await cli(['repo', 'policy', 'get', 'team/app'])).stderr).toBe('wharf: repository team/app has no repository policy\n');

    expect((await cli(['registry-policy', 'get'])).code).toBe(1);
    await cli.ok(['registry-policy', 'set', '--document', '-'], REPO_POLICY);
    expect((await cli.json<{ document: unknown }>(['registry-policy', 'get'])).document).toEqual(JSON.parse(REPO_POLICY));
    await cli.ok(['registry-policy', 'delete']);
    expect((await cli(['registry-policy', 'delete'])).code).toBe(1);
  });

  it('the audit trail holds every change, successes and refusals, by cli:<user>, without secrets', async () => {
    const events = await cli.json<{ actor: string; action: string; resource: string; outcome: string; detail: unknown }[]>(['audit', '--limit', '500']);
    const seen = new Set(events.filter((e) => e.outcome === 'success').map((e) => e.action));
    for (const action of [
      'CreateUser',
      'DeleteUser',
      'UpdateLoginProfile',
      'CreateGroup',
      'DeleteGroup',
      'AddUserToGroup',
      'RemoveUserFromGroup',
      'CreatePolicy',
      'UpdatePolicy',
      'DeletePolicy',
      'AttachGroupPolicy',
      'AttachUserPolicy',
      'DetachUserPolicy',
      'PutUserPolicy',
      'PutGroupPolicy',
      'DeleteGroupPolicy',
      'CreateAccessKey',
      'UpdateAccessKey',
      'DeleteAccessKey',
      'SetRepositoryVisibility',
      'SetRepositoryPolicy',
      'DeleteRepositoryPolicy',
      'PutRegistryPolicy',
      'DeleteRegistryPolicy',
    ]) {
      expect(seen, action).toContain(action);
    }
    const refused = events.find((e) => e.action === 'CreatePolicy' && e.outcome === 'failure');
    expect(refused).toMatchObject({ resource: 'Broken', detail: { error: validatorMessage(MALFORMED, 'identity') } });
    expect(events.filter((e) => e.actor !== 'wharf').every((e) => /^cli:.+/.test(e.actor))).toBe(true);
    const text = JSON.stringify(events);
    expect(secrets).toHaveLength(5);
    for (const secret of secrets) expect(text).not.toContain(secret);

    const table = await cli.ok(['audit', '--limit', '3']);
    expect(table.trimEnd().split('\n')).toHaveLength(4);
    expect(table.split('\n')[0]).toMatch(/^ID\s+TIME\s+ACTOR\s+ACTION\s+RESOURCE\s+SOURCE\s+OUTCOME\s+DETAIL$/);
    expect((await cli(['audit', '--limit', '0'])).code).toBe(2);
  });
});

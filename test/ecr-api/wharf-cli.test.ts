// `wharf repo create|list|delete` and `wharf image list|delete` (the built CLI) against a
// running server's ECR API, with an access key from the environment.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import type { TestWharf } from '../helpers/wharf.js';
import { cleanEnv, runNode, WHARF } from '../cli/cli.js';
import { ADMIN, makeImage, pushV2, startEcrWharf } from './helpers.js';

describe('wharf repo / image over the ECR API', () => {
  let server: TestWharf;
  let env: NodeJS.ProcessEnv;
  const wharf = (args: string[], extraEnv: NodeJS.ProcessEnv = env) => runNode(WHARF, [...args, '--endpoint', server.url], { env: extraEnv });

  beforeAll(async () => {
    server = await startEcrWharf('sqlite');
    env = cleanEnv({
      AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ADMIN.secret,
      AWS_CONFIG_FILE: join(server.dataDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(server.dataDir, 'no-aws-credentials'),
    });
    delete env.AWS_PROFILE;
    delete env.AWS_REGION;
    delete env.AWS_DEFAULT_REGION;
  });
  afterAll(async () => server?.stop());

  it('repo create, list and delete, in json and table form, with ECR errors and exit codes', async () => {
    const created = await wharf(['repo', 'create', 'cli/app', '--image-tag-mutability', 'IMMUTABLE', '--scan-on-push', '--tag', 'team=blue', '-o', 'json']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'cli/app', uri: `${server.host}/cli/app`, imageTagMutability: 'IMMUTABLE', scanOnPush: true, encryption: 'AES256' });

    const table = await wharf(['repo', 'create', 'cli/other', '--image-tag-mutability', 'MUTABLE_WITH_EXCLUSION', '--exclusion-filter', 'release-*']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('repository:');
    expect(table.stdout).toContain('MUTABLE_WITH_EXCLUSION release-*');

    const dup = await wharf(['repo', 'create', 'cli/app']);
    expect(dup.code).toBe(1);
    expect(dup.stdout).toBe('');
    expect(dup.stderr).toBe(`wharf: RepositoryAlreadyExistsException: The repository with name 'cli/app' already exists in the registry with id '${server.wharf.access!.account.accountId}'\n`);

    const list = await wharf(['repo', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+URI\s+TAG MUTABILITY\s+SCAN ON PUSH\s+CREATED$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['cli/app', 'cli/other']);
    expect((JSON.parse((await wharf(['repo', 'list', '-o', 'json'])).stdout) as { name: string }[]).map((r) => r.name)).toEqual(['cli/app', 'cli/other']);

    expect((await pushV2(server.url, 'cli/app', makeImage([100]), 'v1'))!.status).toBe(201);
    const notEmpty = await wharf(['repo', 'delete', 'cli/app']);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toMatch(/^wharf: RepositoryNotEmptyException: The repository with name 'cli\/app' in registry with id '\d{12}' cannot be deleted because it still contains images\n$/);
    const forced = await wharf(['repo', 'delete', 'cli/app', '--force']);
    expect(forced).toMatchObject({ code: 0, stdout: 'deleted repository cli/app\n' });
    const missing = await wharf(['repo', 'delete', 'cli/app']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('wharf: RepositoryNotFoundException: ');
  });

  it('image list and delete, with per-image failures', async () => {
    const a = makeImage([2048]);
    const b = makeImage([10]);
    expect((await pushV2(server.url, 'cli/images', a, 'v1'))!.status).toBe(201);
    expect((await pushV2(server.url, 'cli/images', a, 'latest'))!.status).toBe(201);
    expect((await pushV2(server.url, 'cli/images', b))!.status).toBe(201);

    const list = await wharf(['image', 'list', 'cli/images']);
    expect(list.code).toBe(0);
    const rows = list.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^DIGEST\s+TAGS\s+SIZE\s+PUSHED\s+LAST PULLED$/);
    expect(rows[1]).toContain(a.digest.slice(0, 'sha256:'.length + 12));
    expect(rows[1]).toContain('latest,v1');
    expect(rows[1]).toMatch(/2\.\d KiB/);
    const json = JSON.parse((await wharf(['image', 'list', 'cli/images', '--tag-status', 'UNTAGGED', '-o', 'json'])).stdout) as { digest: string; tags: string[] }[];
    expect(json).toEqual([expect.objectContaining({ digest: b.digest, tags: [] })]);

    const deleted = await wharf(['image', 'delete', 'cli/images', 'v1', b.digest]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`deleted cli/images:v1 (${a.digest.slice(0, 19)})\ndeleted cli/images@${b.digest}\n`);
    const partial = await wharf(['image', 'delete', 'cli/images', 'latest', 'nope', '-o', 'json']);
    expect(partial.code).toBe(1);
    expect(JSON.parse(partial.stdout)).toMatchObject({ deleted: [{ digest: a.digest, tag: 'latest' }], failures: [{ reference: 'nope', failureCode: 'ImageNotFound' }] });
    expect(partial.stderr).toBe('wharf: nope: ImageNotFound: Requested image not found\n');
  });

  it('usage errors exit 2; missing credentials and an unreachable registry exit 1 with a clear message', async () => {
    const usage = await wharf(['repo', 'create']);
    expect(usage.code).toBe(2);
    const badChoice = await wharf(['repo', 'create', 'x/y', '--image-tag-mutability', 'SOMETIMES']);
    expect(badChoice.code).toBe(2);
    const badEndpoint = await runNode(WHARF, ['repo', 'list', '--endpoint', 'not a url'], { env });
    expect(badEndpoint.code).toBe(2);

    const noKeys = { ...env };
    delete noKeys.AWS_ACCESS_KEY_ID;
    delete noKeys.AWS_SECRET_ACCESS_KEY;
    const noCredentials = await wharf(['repo', 'list'], noKeys);
    expect(noCredentials.code).toBe(1);
    expect(noCredentials.stderr).toContain('wharf: no AWS credentials');
    // --profile reads a named profile from the shared credentials file.
    const credentials = join(server.dataDir, 'aws-credentials');
    await writeFile(credentials, `[registry]\naws_access_key_id = ${ADMIN.accessKeyId}\naws_secret_access_key = ${ADMIN.secret}\n`);
    const viaProfile = await wharf(['repo', 'list', '--profile', 'registry', '-o', 'json'], { ...noKeys, AWS_SHARED_CREDENTIALS_FILE: credentials });
    expect(viaProfile.stderr).toBe('');
    expect(viaProfile.code).toBe(0);

    const down = await runNode(WHARF, ['repo', 'list', '--endpoint', `http://127.0.0.1:${await freePort()}`], { env });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach the registry at http://127.0.0.1:');

    const wrongSecret = await wharf(['repo', 'list'], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-wrong-secret-wrong-secret-00' });
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.stderr).toContain('wharf: InvalidSignatureException: ');
  });
});

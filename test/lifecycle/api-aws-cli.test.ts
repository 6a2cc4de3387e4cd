// The real AWS CLI's lifecycle commands against Wharf: v2 (Debian's awscli at /usr/bin/aws) and,
// when the `aws` on PATH is a v1, that one too. put-lifecycle-policy from file://, get, preview
// start and get (the CLI follows nextToken itself), delete, and the not-found error.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, which } from '../helpers/clients/exec.js';
import type { TestWharf } from '../helpers/wharf.js';
import { ADMIN, startEcrWharf } from '../ecr-api/helpers.js';
import { age, push, standardPolicy } from './run-fixtures.js';

const V2 = '/usr/bin/aws';

function version(bin: string): string {
  try {
    // v1 prints its version on stderr, v2 on stdout.
    return execFileSync('sh', ['-c', `"${bin}" --version 2>&1 || true`], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch {
    return '';
  }
}

function findV1(): string | undefined {
  let v2Real = V2;
  try {
    v2Real = realpathSync(V2);
  } catch {
    // no v2 installed: any aws on PATH may be a v1
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'aws');
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (real !== v2Real && version(candidate).startsWith('aws-cli/1.')) return candidate;
  }
  return undefined;
}

const clis: { label: string; bin: string }[] = [];
if (which(V2) && version(V2).startsWith('aws-cli/2.')) clis.push({ label: 'AWS CLI v2', bin: V2 });
const v1 = findV1();
if (v1) clis.push({ label: 'AWS CLI v1', bin: v1 });

describe.skipIf(clis.length === 0)(`aws ecr lifecycle commands${clis.length === 0 ? ' (skipped: aws not installed)' : ''}`, () => {
  let server: TestWharf;
  let work: string;

  beforeAll(async () => {
    server = await startEcrWharf('sqlite', { lifecycleInterval: 'off' });
    work = await mkdtemp(join(tmpdir(), 'wharf-lifecycle-aws-'));
  });
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const cli of clis) {
    it(`${cli.label}: put, get, start and get preview, delete`, async () => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ADMIN.secret,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: join(work, 'no-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-credentials'),
        AWS_PAGER: '',
        AWS_EC2_METADATA_DISABLED: 'true',
      };
      const aws = async (args: string[], allowFailure = false) =>
        run(cli.bin, ['ecr', ...args, '--endpoint-url', server.url, '--output', 'json'], { env, cwd: work, timeoutMs: 60_000, allowFailure });
      const json = async (args: string[]) => {
        const res = await aws(args);
        return (res.stdout.trim() === '' ? {} : JSON.parse(res.stdout)) as Record<string, unknown>;
      };
      const repo = `awscli/${cli.label.endsWith('v1') ? 'v1' : 'v2'}`;
      const images = [];
      for (let i = 0; i < 3; i++) images.push(await push(server.url, repo));
      await age(server, repo, images.map((i) => i.digest), 30);
      const text = standardPolicy();
      await writeFile(join(work, 'p.json'), text);

      const put = await json(['put-lifecycle-policy', '--repository-name', repo, '--lifecycle-policy-text', 'file://p.json']);
      expect(put).toMatchObject({ repositoryName: repo, lifecyclePolicyText: text, registryId: server.wharf.access!.account.accountId });

      const got = await json(['get-lifecycle-policy', '--repository-name', repo]);
      expect(got).toMatchObject({ repositoryName: repo, lifecyclePolicyText: text });
      // v2 prints timestamps as ISO-8601 text, v1 as the epoch seconds the API sends.
      const evaluated = got.lastEvaluatedAt as string | number;
      expect(Math.abs(new Date(typeof evaluated === 'number' ? evaluated * 1000 : evaluated).getTime() - Date.now())).toBeLessThan(120_000);

      const started = await json(['start-lifecycle-policy-preview', '--repository-name', repo]);
      expect(started).toMatchObject({ repositoryName: repo, lifecyclePolicyText: text, status: 'COMPLETE' });
      // One result per page: the CLI pages through them all.
      const preview = (await json(['get-lifecycle-policy-preview', '--repository-name', repo, '--page-size', '1'])) as {
        status: string;
        previewResults: { imageDigest: string; action: { type: string }; appliedRulePriority: number }[];
        summary: { expiringImageTotalCount: number };
      };
      expect(preview.status).toBe('COMPLETE');
      expect(preview.previewResults.map((r) => r.imageDigest).sort()).toEqual(images.map((i) => i.digest).sort());
      expect(preview.previewResults.every((r) => r.action.type === 'EXPIRE' && r.appliedRulePriority === 2)).toBe(true);
      expect(preview.summary.expiringImageTotalCount).toBe(3);

      const deleted = await json(['delete-lifecycle-policy', '--repository-name', repo]);
      expect(deleted).toMatchObject({ repositoryName: repo, lifecyclePolicyText: text });
      const missing = await aws(['get-lifecycle-policy', '--repository-name', repo], true);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain(
        `An error occurred (LifecyclePolicyNotFoundException) when calling the GetLifecyclePolicy operation: Lifecycle policy does not exist for the repository with name '${repo}'`,
      );
    });
  }
});

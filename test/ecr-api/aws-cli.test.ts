// The real AWS CLI against Wharf's ECR API: v2 (Debian's awscli at /usr/bin/aws) and, when
// the `aws` on PATH is a v1, that one too. Create a repository, sign skopeo in with
// `aws ecr get-login-password`, push, describe, page, delete.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, run, which } from '../helpers/clients/exec.js';
import { dataLayer, image, writeLayout } from '../helpers/clients/oci-layout.js';
import type { TestWharf } from '../helpers/wharf.js';
import { ADMIN, startEcrWharf } from './helpers.js';

const V2 = '/usr/bin/aws';

function versionOf(bin: string): string {
  try {
    // v1 prints the version on stderr, v2 on stdout.
    return execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim() || '';
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? '');
  }
}

function findV1(): string | undefined {
  const v2Real = (() => {
    try {
      return realpathSync(V2);
    } catch {
      return V2;
    }
  })();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'aws');
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (real === v2Real) continue;
    const out = execFileSync('sh', ['-c', `"${candidate}" --version 2>&1 || true`], { encoding: 'utf8', timeout: 30_000 });
    if (out.startsWith('aws-cli/1.')) return candidate;
  }
  return undefined;
}

const clis: { label: string; bin: string }[] = [];
if (which(V2) && versionOf(V2).startsWith('aws-cli/2.')) clis.push({ label: 'AWS CLI v2', bin: V2 });
const v1 = findV1();
if (v1) clis.push({ label: 'AWS CLI v1', bin: v1 });
const absent = [...missing('skopeo'), ...(clis.length === 0 ? ['aws'] : [])];

describe.skipIf(absent.length > 0)(`the AWS CLI${absent.length ? ` (skipped: ${absent.join(', ')} not installed)` : ''}`, () => {
  let server: TestWharf;
  let work: string;
  let layout: string;

  beforeAll(async () => {
    server = await startEcrWharf('sqlite');
    work = await mkdtemp(join(tmpdir(), 'wharf-aws-cli-'));
    layout = join(work, 'layout');
    await writeLayout(layout, { latest: image([dataLayer('aws-cli', 20 * 1024)], { labels: { 'wharf.test': 'aws-cli' } }) });
  });
  afterAll(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const cli of clis) {
    it(`${cli.label}: create-repository, get-login-password + skopeo push, describe-images, list-images paging, batch-delete-image, delete-repository --force`, async () => {
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
      const aws = async (args: string[]) => {
        const res = await run(cli.bin, ['ecr', ...args, '--endpoint-url', server.url, '--output', 'json'], { env, timeoutMs: 60_000 });
        return res.stdout.trim() === '' ? {} : (JSON.parse(res.stdout) as Record<string, unknown>);
      };
      const repo = `cli/${cli.label.endsWith('v1') ? 'v1' : 'v2'}`;

      const created = (await aws(['create-repository', '--repository-name', repo, '--image-tag-mutability', 'IMMUTABLE'])) as { repository: Record<string, unknown> };
      expect(created.repository).toMatchObject({ repositoryName: repo, imageTagMutability: 'IMMUTABLE', repositoryUri: `${server.host}/${repo}` });

      const login = await run(cli.bin, ['ecr', 'get-login-password', '--endpoint-url', server.url], { env, timeoutMs: 60_000 });
      const password = login.stdout.trim();
      expect(password.length).toBeGreaterThan(100);
      await run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', '--dest-creds', `AWS:${password}`, `oci:${layout}:latest`, `docker://${server.host}/${repo}:v1`], {
        timeoutMs: 60_000,
      });
      await run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', '--dest-creds', `AWS:${password}`, `oci:${layout}:latest`, `docker://${server.host}/${repo}:v2`], {
        timeoutMs: 60_000,
      });

      const described = (await aws(['describe-images', '--repository-name', repo])) as { imageDetails: Record<string, unknown>[] };
      expect(described.imageDetails).toHaveLength(1);
      expect(described.imageDetails[0]).toMatchObject({ repositoryName: repo, imageTags: ['v1', 'v2'], imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json' });
      // v2 prints timestamps as ISO-8601 text, v1 as the epoch seconds the API sends.
      const pushedAt = described.imageDetails[0]!.imagePushedAt as string | number;
      expect(Math.abs(new Date(typeof pushedAt === 'number' ? pushedAt * 1000 : pushedAt).getTime() - Date.now())).toBeLessThan(120_000);

      // The CLI follows nextToken itself; one entry per page.
      const listed = (await aws(['list-images', '--repository-name', repo, '--page-size', '1'])) as { imageIds: { imageTag: string }[] };
      expect(listed.imageIds.map((i) => i.imageTag)).toEqual(['v1', 'v2']);

      const notFound = await run(cli.bin, ['ecr', 'describe-repositories', '--repository-names', 'cli/absent', '--endpoint-url', server.url], { env, timeoutMs: 60_000, allowFailure: true });
      expect(notFound.code).not.toBe(0);
      expect(notFound.stderr).toContain(`An error occurred (RepositoryNotFoundException) when calling the DescribeRepositories operation: The repository with name 'cli/absent' does not exist`);

      const refused = await run(cli.bin, ['ecr', 'delete-repository', '--repository-name', repo, '--endpoint-url', server.url], { env, timeoutMs: 60_000, allowFailure: true });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('(RepositoryNotEmptyException)');

      // In an IMMUTABLE repository a tag is not removed on its own (the next push could move it)...
      const kept = (await aws(['batch-delete-image', '--repository-name', repo, '--image-ids', 'imageTag=v1'])) as { imageIds: unknown[]; failures: { failureCode: string }[] };
      expect(kept.imageIds).toEqual([]);
      expect(kept.failures.map((f) => f.failureCode)).toEqual(['InvalidImageTag']);
      // ...but the image may be deleted by digest, tags and all.
      const digest = described.imageDetails[0]!.imageDigest as string;
      const deleted = (await aws(['batch-delete-image', '--repository-name', repo, '--image-ids', `imageDigest=${digest}`])) as { imageIds: { imageTag: string }[]; failures: unknown[] };
      expect(deleted.imageIds.map((i) => i.imageTag).sort()).toEqual(['v1', 'v2']);
      expect(deleted.failures).toEqual([]);

      const gone = (await aws(['delete-repository', '--repository-name', repo, '--force'])) as { repository: Record<string, unknown> };
      expect(gone.repository.repositoryName).toBe(repo);
    });
  }
});

// End to end: the real clients against a node:http server that verifies with verifySigV4 and
// answers like ECR. @aws-sdk/client-ecr always; the AWS CLI v2 at /usr/bin/aws and a v1 `aws` on
// PATH when they are installed.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AKID, SECRET, startVerifyServer, type VerifyServer } from './helpers.js';

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

let server: VerifyServer;
let configDir: string;

beforeAll(async () => {
  server = await startVerifyServer();
  configDir = await mkdtemp(join(tmpdir(), 'wharf-sigv4-'));
  await writeFile(join(configDir, 'config'), '');
  await writeFile(join(configDir, 'credentials'), '');
});
afterAll(async () => {
  await server.close();
  await rm(configDir, { recursive: true, force: true });
});

function ecr(secretAccessKey: string, accessKeyId = AKID): ECRClient {
  return new ECRClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey },
  });
}

describe('@aws-sdk/client-ecr', () => {
  it('DescribeRepositories verifies', async () => {
    const client = ecr(SECRET);
    try {
      const out = await client.send(new DescribeRepositoriesCommand({}));
      expect(out.repositories).toEqual([]);
    } finally {
      client.destroy();
    }
    const seen = server.seen.at(-1)!;
    expect(seen.url).toBe('/');
    if (!seen.result.ok) throw new Error(JSON.stringify(seen.result));
    // What the JS SDK signs: no user-agent, but its own amz-sdk-* and x-amz-user-agent headers.
    expect(seen.result.signedHeaders).toEqual(
      expect.arrayContaining(['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-target']),
    );
    expect(seen.result.signedHeaders).not.toContain('user-agent');
  });

  it('a wrong secret surfaces as InvalidSignatureException, not retried', async () => {
    const before = server.seen.length;
    const client = ecr('wrong-secret');
    try {
      const err = await client.send(new DescribeRepositoriesCommand({})).then(
        () => null,
        (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode?: number } },
      );
      expect(err?.name).toBe('InvalidSignatureException');
      expect(err?.message).toBe(MISMATCH);
      expect(err?.$metadata.httpStatusCode).toBe(400);
      expect(server.seen.length - before).toBe(1);
    } finally {
      client.destroy();
    }
  });

  it('an unknown key surfaces as UnrecognizedClientException', async () => {
    const client = ecr(SECRET, 'AKIAUNKNOWN000000000');
    try {
      const err = await client.send(new DescribeRepositoriesCommand({})).then(
        () => null,
        (e: unknown) => e as { name: string; message: string },
      );
      expect(err?.name).toBe('UnrecognizedClientException');
      expect(err?.message).toBe('The security token included in the request is invalid.');
    } finally {
      client.destroy();
    }
  });
});

// ---- AWS CLI ---------------------------------------------------------------------------------

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir !== '' && existsSync(p)) return p;
  }
  return null;
}

const CLI_V2 = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : null;
const onPath = findOnPath('aws');
// A v1 `aws` elsewhere on PATH (pyenv shim, pip --user, ...), distinct from /usr/bin/aws.
const CLI_V1 = onPath !== null && (CLI_V2 === null || realpathSync(onPath) !== realpathSync(CLI_V2)) ? onPath : null;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(bin: string, secret: string): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: configDir,
    AWS_ACCESS_KEY_ID: AKID,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(configDir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(configDir, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  // pyenv shims need their root to find the interpreter.
  if (process.env.PYENV_ROOT) env.PYENV_ROOT = process.env.PYENV_ROOT;
  return new Promise((resolve) => {
    execFile(
      bin,
      ['ecr', 'describe-repositories', '--endpoint-url', server.endpoint, '--output', 'json'],
      { env, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function cliVerifies(bin: string): Promise<void> {
  const before = server.seen.length;
  const ok = await runCli(bin, SECRET);
  if (ok.code !== 0) throw new Error(`${bin} failed (${ok.code}): ${ok.stderr}`);
  expect(JSON.parse(ok.stdout)).toEqual({ repositories: [] });
  const seen = server.seen.slice(before);
  expect(seen).toHaveLength(1);
  const result = seen[0]!.result;
  if (!result.ok) throw new Error(JSON.stringify(result));
  // What botocore signs for ECR: exactly these four (no x-amz-content-sha256 over JSON protocols).
  expect(result.signedHeaders).toEqual(['content-type', 'host', 'x-amz-date', 'x-amz-target']);
}

async function cliWrongSecret(bin: string): Promise<void> {
  const before = server.seen.length;
  const bad = await runCli(bin, 'wrong-secret');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('An error occurred (InvalidSignatureException) when calling the DescribeRepositories operation');
  expect(bad.stderr).toContain(MISMATCH);
  // Not retried: botocore does not treat the error as transient.
  expect(server.seen.length - before).toBe(1);
}

describe.skipIf(CLI_V2 === null)(`AWS CLI v2 (${CLI_V2 ?? 'not installed'})`, () => {
  it('ecr describe-repositories verifies', async () => {
    await cliVerifies(CLI_V2!);
  });
  it('a wrong secret surfaces as InvalidSignatureException', async () => {
    await cliWrongSecret(CLI_V2!);
  });
});

describe.skipIf(CLI_V1 === null)(`AWS CLI on PATH (${CLI_V1 ?? 'none besides /usr/bin/aws'})`, () => {
  it('ecr describe-repositories verifies', async () => {
    await cliVerifies(CLI_V1!);
  });
  it('a wrong secret surfaces as InvalidSignatureException', async () => {
    await cliWrongSecret(CLI_V1!);
  });
});

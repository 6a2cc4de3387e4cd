// Every client login path against a registry with IAM on: skopeo with user+password,
// with an access key, and with `AWS` + an authorization token (ECR style); podman login;
// docker login + push + pull. The registry speaks Docker token auth to all of them.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedStore, podman } from '../helpers/clients/containers-tools.js';
import { startDockerd, type Dockerd } from '../helpers/clients/daemons.js';
import { isRoot, missing, run } from '../helpers/clients/exec.js';
import { busyboxLayer, dataLayer, image, writeLayout } from '../helpers/clients/oci-layout.js';
import { startWharf, type TestWharf } from '../helpers/wharf.js';

const ADMIN = { password: 'admin-password-for-tests', accessKeyId: 'AKIAADMINTESTKEY2345', secret: 'admin-secret-access-key-for-tests-000000' };
const absent = [...missing('skopeo', 'podman', 'dockerd'), ...(isRoot() ? [] : ['root'])];

describe.skipIf(absent.length > 0)('client logins with IAM on', () => {
  let server: TestWharf;
  let tmp: string;
  let layout: string;
  let dockerd: Dockerd | undefined;
  const img = image([busyboxLayer(), dataLayer('login', 64 * 1024)], { cmd: ['/bin/busybox', 'echo', 'logged in'] });
  const skopeo = (args: string[]) => run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 60_000 });

  beforeAll(async () => {
    server = await startWharf({
      config: { auth: 'iam', adminPassword: ADMIN.password, adminAccessKeyId: ADMIN.accessKeyId, adminSecretAccessKey: ADMIN.secret },
    });
    // podman names images pulled from oci: paths after the path, which must be lowercase.
    tmp = join(tmpdir(), `wharf-login-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp, { recursive: true });
    layout = join(tmp, 'layout');
    await writeLayout(layout, { app: img });
  });
  afterAll(async () => {
    await dockerd?.stop();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  }, 120_000);

  it('skopeo: refused without credentials, works with password, access key and an authorization token', async () => {
    const dest = `docker://${server.host}/login/skopeo:v1`;
    await expect(skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:app`, dest])).rejects.toThrow(/denied|unauthorized|authentication required/i);
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN.password}`, `oci:${layout}:app`, dest]);
    await skopeo(['inspect', '--tls-verify=false', '--creds', `${ADMIN.accessKeyId}:${ADMIN.secret}`, dest]);

    const admin = (await server.wharf.access!.identity.getUserByName('admin'))!;
    const { token } = await server.wharf.access!.tokens.issueAuthorizationToken(admin.id);
    const authfile = join(tmp, 'skopeo-auth.json');
    await skopeo(['login', '--tls-verify=false', '--authfile', authfile, '-u', 'AWS', '-p', token, server.host]);
    await skopeo(['copy', '--src-tls-verify=false', '--src-authfile', authfile, dest, `oci:${join(tmp, 'back')}:app`]);
    await expect(skopeo(['login', '--tls-verify=false', '--authfile', authfile, '-u', 'admin', '-p', 'wrong-password', server.host])).rejects.toThrow();
  });

  it('podman login, push and pull', async () => {
    const store = await isolatedStore(join(tmp, 'podman'), server.host);
    const p = (args: string[]) => podman(store, args);
    await p(['login', '--tls-verify=false', '-u', 'admin', '-p', ADMIN.password, server.host]);
    const id = (await p(['pull', '-q', `oci:${layout}:app`])).stdout.trim().split('\n').pop()!;
    await p(['push', '--tls-verify=false', id, `${server.host}/login/podman:v1`]);
    await p(['rmi', '-a', '-f']);
    await p(['pull', '--tls-verify=false', `${server.host}/login/podman:v1`]);
    await p(['logout', server.host]);
    await expect(p(['pull', '--tls-verify=false', `${server.host}/login/podman:v1`])).rejects.toThrow();
  });

  it('docker login with an authorization token, push, pull and run', async () => {
    dockerd = await startDockerd(join(tmp, 'docker'));
    const d = dockerd;
    const admin = (await server.wharf.access!.identity.getUserByName('admin'))!;
    const { token } = await server.wharf.access!.tokens.issueAuthorizationToken(admin.id);
    await d.docker(['login', '-u', 'AWS', '--password-stdin', server.host], { input: token });
    const ref = `${server.host}/login/docker:v1`;
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN.password}`, `oci:${layout}:app`, `docker://${ref}`]);
    await d.docker(['pull', ref]);
    const out = await d.docker(['run', '--rm', '--network', 'none', ref]);
    expect(out.stdout).toContain('logged in');
    await d.docker(['tag', ref, `${server.host}/login/docker:v2`]);
    await d.docker(['push', `${server.host}/login/docker:v2`]);
    await d.docker(['logout', server.host]);
    await expect(d.docker(['pull', `${server.host}/login/docker:v2`])).rejects.toThrow();
  }, 120_000);
});

// `wharf login` and `docker-credential-wharf` against a real server with IAM on (a separate
// process, from the built CLI): credentials written where docker/podman/skopeo read them,
// skopeo pushing with them, and the credential helper's store/get/list/erase round trip,
// trading an access key for an authorization token the server accepts and caching it.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, run } from '../helpers/clients/exec.js';
import { dataLayer, image, writeLayout } from '../helpers/clients/oci-layout.js';
import { spawnWharf, type WharfProcess } from '../helpers/process.js';
import { cleanEnv, CREDENTIAL_HELPER, runNode, WHARF, wharfCli } from './cli.js';

const ADMIN = { password: 'admin-password-for-login-tests', accessKeyId: 'AKIAADMINLOGINTEST23', secret: 'admin-secret-access-key-for-login-tests-0' };
const noSkopeo = missing('skopeo').length > 0;

describe('wharf login and docker-credential-wharf', { timeout: 120_000 }, () => {
  let dir: string;
  let server: WharfProcess;
  let layout: string;
  let pusher: { accessKeyId: string; secretAccessKey: string };
  /** Environment of every client process: its own docker config, podman auth file and helper store. */
  let env: NodeJS.ProcessEnv;

  const paths = () => ({
    docker: join(dir, 'docker', 'config.json'),
    podman: join(dir, 'podman', 'auth.json'),
    credentials: join(dir, 'wharf-credentials.json'),
  });
  const login = (args: string[], input: string) => runNode(WHARF, ['login', server.host, ...args], { env, input, cwd: dir });
  const helper = (action: string, input = '') => runNode(CREDENTIAL_HELPER, [action], { env, input, cwd: dir });
  const tokenStatus = async (username: string, password: string) => {
    const res = await fetch(`${server.url}/v2/token?service=wharf`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` } });
    await res.arrayBuffer();
    return res.status;
  };
  /**
   * skopeo finds credentials only in the --authfile given: no DOCKER_CONFIG, REGISTRY_AUTH_FILE,
   * or files under HOME / XDG_RUNTIME_DIR to fall back on.
   */
  const skopeo = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const bare = cleanEnv({ HOME: join(dir, 'skopeo-home'), XDG_RUNTIME_DIR: join(dir, 'skopeo-run'), XDG_CONFIG_HOME: join(dir, 'skopeo-config') });
    delete bare.DOCKER_CONFIG;
    delete bare.REGISTRY_AUTH_FILE;
    return run('skopeo', ['--insecure-policy', ...args], { env: { ...bare, ...extraEnv }, timeoutMs: 60_000 });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-cli-login-'));
    const dataDir = join(dir, 'data');
    server = await spawnWharf({
      dataDir,
      env: {
        WHARF_AUTH: 'iam',
        WHARF_LOG_LEVEL: 'warn',
        WHARF_ADMIN_PASSWORD: ADMIN.password,
        WHARF_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
        WHARF_ADMIN_SECRET_ACCESS_KEY: ADMIN.secret,
      },
    });
    env = cleanEnv({ DOCKER_CONFIG: join(dir, 'docker'), REGISTRY_AUTH_FILE: paths().podman, WHARF_CREDENTIALS_FILE: paths().credentials, HOME: join(dir, 'home') });
    // A second user, made with the admin CLI while the server runs, allowed to push under cli/.
    const cli = wharfCli({ dataDir, cwd: dir });
    await cli.ok(['user', 'create', 'pusher']);
    await cli.ok(['policy', 'put-inline', '--user', 'pusher', '--name', 'push-cli', '--document', '-'], JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: 'arn:aws:ecr:*:*:repository/cli/*' }],
    }));
    pusher = await cli.json(['key', 'create', 'pusher']);
    layout = join(dir, 'layout');
    await writeLayout(layout, { app: image([dataLayer('cli-login', 8 * 1024)]) });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('login with user + password checks them, then writes docker and podman auth files (0600, other entries kept)', async () => {
    await mkdir(join(dir, 'docker'), { recursive: true });
    const other = { auth: Buffer.from('someone:else').toString('base64') };
    await writeFile(paths().docker, JSON.stringify({ auths: { 'other.example.com': other }, psFormat: 'table {{.ID}}' }));

    const wrong = await login(['--username', 'admin', '--password-stdin'], 'not-the-password\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`wharf: login failed: ${server.url} rejected the credentials of admin: invalid credentials, or an inactive or deleted access key\n`);

    const ok = await login(['--username', 'admin', '--password-stdin'], `${ADMIN.password}\n`);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Login Succeeded');
    const expected = Buffer.from(`admin:${ADMIN.password}`).toString('base64');
    const docker = JSON.parse(await readFile(paths().docker, 'utf8'));
    expect(docker).toEqual({ auths: { 'other.example.com': other, [server.host]: { auth: expected } }, psFormat: 'table {{.ID}}' });
    expect((await stat(paths().docker)).mode & 0o777).toBe(0o600);
    const podman = JSON.parse(await readFile(paths().podman, 'utf8'));
    expect(podman.auths[server.host]).toEqual({ auth: expected });
    expect((await stat(paths().podman)).mode & 0o777).toBe(0o600);

    const usage = await login(['--helper', '--username', 'admin', '--password-stdin'], `${ADMIN.password}\n`);
    expect(usage.code).toBe(2);
  });

  it.skipIf(noSkopeo)('skopeo pushes with the docker config `wharf login` wrote', async () => {
    const dest = `docker://${server.host}/cli/login:v1`;
    await writeFile(join(dir, 'empty.json'), '{}');
    await expect(skopeo(['copy', '--dest-tls-verify=false', '--authfile', join(dir, 'empty.json'), `oci:${layout}:app`, dest])).rejects.toThrow(/denied|unauthorized|authentication required/i);
    await skopeo(['copy', '--authfile', paths().docker, '--dest-tls-verify=false', `oci:${layout}:app`, dest]);
    const inspected = await skopeo(['inspect', '--raw', '--tls-verify=false', '--authfile', paths().docker, dest]);
    expect(JSON.parse(inspected.stdout).schemaVersion).toBe(2);
  });

  it('docker-credential-wharf: store, list, get (a token the server accepts, cached), erase', async () => {
    const store = await helper('store', JSON.stringify({ ServerURL: server.host, Username: pusher.accessKeyId, Secret: pusher.secretAccessKey }));
    expect(store.code, store.stdout).toBe(0);
    expect((await stat(paths().credentials)).mode & 0o777).toBe(0o600);
    expect(JSON.parse((await helper('list')).stdout)).toEqual({ [server.host]: pusher.accessKeyId });

    const first = await helper('get', `${server.host}\n`);
    expect(first.code, first.stdout).toBe(0);
    const creds = JSON.parse(first.stdout) as { ServerURL: string; Username: string; Secret: string };
    expect(creds).toEqual({ ServerURL: server.host, Username: 'AWS', Secret: expect.stringMatching(/^ey[\w-]+\.[\w-]+\.[\w-]+$/) });
    expect(await tokenStatus('AWS', creds.Secret)).toBe(200);
    expect(await tokenStatus('AWS', `${creds.Secret}x`)).toBe(401);

    // Every token the server issues has a fresh jti: the same token again means no new exchange.
    const second = JSON.parse((await helper('get', server.host)).stdout) as { Secret: string };
    expect(second.Secret).toBe(creds.Secret);
    const stored = JSON.parse(await readFile(paths().credentials, 'utf8'));
    expect(stored.registries[server.host]).toMatchObject({ accessKeyId: pusher.accessKeyId, token: creds.Secret, tokenExpiresAt: expect.any(String) });
    const hoursLeft = (Date.parse(stored.registries[server.host].tokenExpiresAt) - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(11.9);
    expect(hoursLeft).toBeLessThanOrEqual(12);

    // A token about to expire is replaced by a fresh one.
    stored.registries[server.host].tokenExpiresAt = new Date(Date.now() + 60_000).toISOString();
    await writeFile(paths().credentials, JSON.stringify(stored));
    const refreshed = JSON.parse((await helper('get', server.host)).stdout) as { Secret: string };
    expect(refreshed.Secret).not.toBe(creds.Secret);
    expect(await tokenStatus('AWS', refreshed.Secret)).toBe(200);

    const erase = await helper('erase', server.host);
    expect(erase.code).toBe(0);
    expect(JSON.parse((await helper('list')).stdout)).toEqual({});
    const after = await helper('get', server.host);
    expect(after).toMatchObject({ code: 1, stdout: 'credentials not found in native keychain\n' });
  });

  it('docker-credential-wharf: unknown registries, non-key usernames and a wrong secret fail clearly', async () => {
    expect(await helper('get', 'registry.invalid:5000')).toMatchObject({ code: 1, stdout: 'credentials not found in native keychain\n' });
    const notKey = await helper('store', JSON.stringify({ ServerURL: server.host, Username: 'admin', Secret: ADMIN.password }));
    expect(notKey.code).toBe(1);
    expect(notKey.stdout).toMatch(/stores access keys only/);

    await helper('store', JSON.stringify({ ServerURL: server.host, Username: pusher.accessKeyId, Secret: 'wrong-secret-wrong-secret-wrong-secret-00' }));
    const wrong = await helper('get', server.host);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe(
      `docker-credential-wharf: ${server.url} rejected the credentials of access key ${pusher.accessKeyId}: invalid credentials, or an inactive or deleted access key\n`,
    );
    await helper('erase', server.host);
  });

  it.skipIf(noSkopeo)('login --helper: docker config names the helper, and skopeo pushes through it with tokens', async () => {
    const ok = await login(['--access-key-id', pusher.accessKeyId, '--secret-access-key-stdin', '--helper'], pusher.secretAccessKey);
    expect(ok.code, ok.stderr).toBe(0);
    const docker = JSON.parse(await readFile(paths().docker, 'utf8'));
    expect(docker.credHelpers).toEqual({ [server.host]: 'wharf' });
    expect(docker.auths[server.host]).toBeUndefined();
    expect(docker.auths['other.example.com']).toBeDefined();
    expect(await readFile(paths().docker, 'utf8')).not.toContain(pusher.secretAccessKey);
    const podman = JSON.parse(await readFile(paths().podman, 'utf8'));
    expect(podman.credHelpers).toEqual({ [server.host]: 'wharf' });
    expect(JSON.stringify(podman)).not.toContain(pusher.secretAccessKey);

    // docker-credential-wharf on PATH, as npm's bin link would put it.
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'docker-credential-wharf'), `#!/bin/sh\nexec '${process.execPath}' '${CREDENTIAL_HELPER}' "$@"\n`);
    await chmod(join(bin, 'docker-credential-wharf'), 0o755);
    const withHelper = { PATH: `${bin}${delimiter}${env.PATH ?? ''}`, WHARF_CREDENTIALS_FILE: paths().credentials };
    await skopeo(['copy', '--authfile', paths().docker, '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${server.host}/cli/helper:v1`], withHelper);
    // The helper cached the token it handed to skopeo.
    const stored = JSON.parse(await readFile(paths().credentials, 'utf8'));
    expect(stored.registries[server.host].token).toMatch(/^ey/);
    // pusher's policy covers cli/* only: the token carries the user's permissions, nothing more.
    await expect(
      skopeo(['copy', '--authfile', paths().docker, '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${server.host}/elsewhere/app:v1`], withHelper),
    ).rejects.toThrow(/denied|unauthorized|authentication required/i);
  });
});

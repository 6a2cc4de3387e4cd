// IAM on the /v2 surface: the token flow, scopes, policies, public repositories, and
// that every endpoint fails closed. Plain HTTP clients against a real server.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsStyleId, hashPassword, newSecretAccessKey } from '../../src/auth/secrets.js';
import { startWharf, testDatabases, type TestWharf } from '../helpers/wharf.js';

const ADMIN = { password: 'admin-password-for-tests', accessKeyId: 'AKIAADMINTESTKEY2345', secret: 'admin-secret-access-key-for-tests-000000' };
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe.each(testDatabases())('IAM on /v2 (%s)', (database) => {
  let server: TestWharf;
  let url: string;

  const token = async (auth: string | undefined, ...scopes: string[]) => {
    const q = new URLSearchParams({ service: 'wharf' });
    for (const s of scopes) q.append('scope', s);
    const res = await fetch(`${url}/v2/token?${q}`, { headers: auth ? { authorization: auth } : {} });
    return { status: res.status, body: (await res.json()) as { token?: string; errors?: { code: string }[] } };
  };
  const bearer = async (auth: string | undefined, ...scopes: string[]) => {
    const t = await token(auth, ...scopes);
    expect(t.status).toBe(200);
    return `Bearer ${t.body.token}`;
  };
  const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { access: { name: string; actions: string[] }[]; sub: string };

  async function pushImage(auth: string, repo: string, tag = 'v1') {
    const layer = randomBytes(1000);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    for (const blob of [layer, config]) {
      const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: { authorization: auth } });
      expect(res.status).toBe(201);
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      }),
    );
    const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      body: manifest,
      headers: { authorization: auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status).toBe(201);
    return { layer: sha256(layer), manifest: sha256(manifest) };
  }

  async function createUser(name: string, password: string, policy?: object) {
    const identity = server.wharf.access!.identity;
    const user = await identity.createUser({ id: awsStyleId('AIDA'), name, passwordHash: await hashPassword(password) });
    if (policy) await identity.putInlinePolicy('user', user.id, 'test', JSON.stringify(policy));
    server.wharf.access!.invalidate();
    return user;
  }

  beforeAll(async () => {
    server = await startWharf({
      database,
      config: { auth: 'iam', adminPassword: ADMIN.password, adminAccessKeyId: ADMIN.accessKeyId, adminSecretAccessKey: ADMIN.secret },
    });
    url = server.url;
  });
  afterAll(async () => server.stop());

  it('GET /v2/ without credentials: 401 with a Bearer challenge naming the token realm', async () => {
    const res = await fetch(`${url}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${url}/v2/token",service="wharf"`);
    expect(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNAUTHORIZED');
  });

  it('issues tokens for the password, the access key and an authorization token; GET /v2/ then answers 200', async () => {
    for (const auth of [basic('admin', ADMIN.password), basic(ADMIN.accessKeyId, ADMIN.secret)]) {
      const b = await bearer(auth);
      expect((await fetch(`${url}/v2/`, { headers: { authorization: b } })).status).toBe(200);
    }
    const admin = (await server.wharf.access!.identity.getUserByName('admin'))!;
    const { token: authToken } = await server.wharf.access!.tokens.issueAuthorizationToken(admin.id);
    expect((await token(basic('AWS', authToken))).status).toBe(200);
    expect((await token(basic('AWS', `${authToken}x`))).status).toBe(401);
  });

  it('rejects bad credentials with 401 UNAUTHORIZED, audits them, and throttles repeated failures with 429', async () => {
    const bad = await token(basic('admin', 'wrong'));
    expect(bad.status).toBe(401);
    expect(bad.body.errors?.[0]?.code).toBe('UNAUTHORIZED');
    const audit = await server.wharf.access!.identity.listAudit(5);
    expect(audit.some((e) => e.actor === 'admin' && e.outcome === 'failure')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain('wrong');
    await createUser('victim', 'victim-password-123');
    for (let i = 0; i < 10; i++) expect((await token(basic('victim', `nope${i}`))).status).toBe(401);
    expect((await token(basic('victim', 'victim-password-123'))).status).toBe(429);
    // Another identity from the same address is not locked out.
    expect((await token(basic('admin', ADMIN.password))).status).toBe(200);
  });

  it('a token grants only the requested actions the policies allow, and /v2 checks its scope', async () => {
    const admin = basic('admin', ADMIN.password);
    const full = await bearer(admin, 'repository:team/app:pull,push');
    expect(claims(full.slice(7)).access).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    const { manifest } = await pushImage(full, 'team/app');

    const pullOnly = await bearer(admin, 'repository:team/app:pull');
    expect((await fetch(`${url}/v2/team/app/manifests/${manifest}`, { headers: { authorization: pullOnly } })).status).toBe(200);
    const push = await fetch(`${url}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { authorization: pullOnly } });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:team/app:push"');
    // A token for one repository says nothing about another.
    expect((await fetch(`${url}/v2/team/other/tags/list`, { headers: { authorization: pullOnly } })).status).toBe(401);
    expect((await fetch(`${url}/v2/team/app/tags/list`, { headers: { authorization: 'Bearer forged.jwt.value' } })).status).toBe(401);
  });

  it('a user with no policy gets an empty grant and is denied on every endpoint (fails closed)', async () => {
    await createUser('nobody', 'nobody-password-1');
    const admin = await bearer(basic('admin', ADMIN.password), 'repository:closed/repo:pull,push');
    const { layer, manifest } = await pushImage(admin, 'closed/repo');
    const t = await token(basic('nobody', 'nobody-password-1'), 'repository:closed/repo:pull,push,delete');
    expect(claims(t.body.token!).access).toEqual([{ type: 'repository', name: 'closed/repo', actions: [] }]);

    const direct = basic('nobody', 'nobody-password-1');
    const requests: [string, string][] = [
      ['GET', `/v2/closed/repo/tags/list`],
      ['GET', `/v2/closed/repo/manifests/v1`],
      ['HEAD', `/v2/closed/repo/manifests/${manifest}`],
      ['PUT', `/v2/closed/repo/manifests/v2`],
      ['DELETE', `/v2/closed/repo/manifests/${manifest}`],
      ['GET', `/v2/closed/repo/blobs/${layer}`],
      ['HEAD', `/v2/closed/repo/blobs/${layer}`],
      ['DELETE', `/v2/closed/repo/blobs/${layer}`],
      ['POST', `/v2/closed/repo/blobs/uploads/`],
      ['GET', `/v2/closed/repo/referrers/${manifest}`],
      ['PATCH', `/v2/closed/repo/blobs/uploads/00000000-0000-0000-0000-000000000000`],
      ['PUT', `/v2/closed/repo/blobs/uploads/00000000-0000-0000-0000-000000000000?digest=${layer}`],
      ['GET', `/v2/closed/repo/blobs/uploads/00000000-0000-0000-0000-000000000000`],
      ['DELETE', `/v2/closed/repo/blobs/uploads/00000000-0000-0000-0000-000000000000`],
    ];
    for (const [method, path] of requests) {
      const viaToken = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${t.body.token}` } });
      expect([401], `${method} ${path} with an empty token`).toContain(viaToken.status);
      const viaBasic = await fetch(`${url}${path}`, { method, headers: { authorization: direct } });
      expect([403], `${method} ${path} with Basic`).toContain(viaBasic.status);
    }
    const audit = await server.wharf.access!.identity.listAudit(50);
    expect(audit.some((e) => e.outcome === 'denied' && e.actor?.endsWith(':user/nobody'))).toBe(true);
    // Nothing was changed by the denied requests.
    expect((await fetch(`${url}/v2/closed/repo/manifests/${manifest}`, { method: 'HEAD', headers: { authorization: admin } })).status).toBe(200);
  });

  it('identity policies grant by action and resource; a repository policy Deny beats them', async () => {
    await createUser('reader', 'reader-password-1', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:ListImages'], Resource: 'arn:aws:ecr:*:*:repository/team/*' }],
    });
    const admin = await bearer(basic('admin', ADMIN.password), 'repository:team/svc:pull,push');
    await pushImage(admin, 'team/svc');
    const reader = basic('reader', 'reader-password-1');
    const t = await token(reader, 'repository:team/svc:pull,push', 'repository:elsewhere/x:pull');
    expect(claims(t.body.token!).access).toEqual([
      { type: 'repository', name: 'team/svc', actions: ['pull'] },
      { type: 'repository', name: 'elsewhere/x', actions: [] },
    ]);
    expect((await fetch(`${url}/v2/team/svc/manifests/v1`, { headers: { authorization: reader } })).status).toBe(200);
    expect((await fetch(`${url}/v2/team/svc/blobs/uploads/`, { method: 'POST', headers: { authorization: reader } })).status).toBe(403);

    await server.wharf.access!.identity.setRepositoryPolicy(
      'team/svc',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ecr:*' }] }),
    );
    server.wharf.access!.invalidate();
    expect((await fetch(`${url}/v2/team/svc/manifests/v1`, { headers: { authorization: reader } })).status).toBe(403);
    // Even the administrator: an explicit deny wins.
    expect((await fetch(`${url}/v2/team/svc/manifests/v1`, { headers: { authorization: basic('admin', ADMIN.password) } })).status).toBe(403);
    await server.wharf.access!.identity.setRepositoryPolicy('team/svc', null);
    server.wharf.access!.invalidate();
  });

  it('a repository policy alone can grant a user access', async () => {
    const user = await createUser('guest', 'guest-password-12');
    const admin = await bearer(basic('admin', ADMIN.password), 'repository:shared/img:pull,push');
    await pushImage(admin, 'shared/img');
    await server.wharf.access!.identity.setRepositoryPolicy(
      'shared/img',
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${server.wharf.access!.account.accountId}:user/${user.name}` }, Action: ['ecr:BatchGetImage'] }],
      }),
    );
    server.wharf.access!.invalidate();
    expect((await fetch(`${url}/v2/shared/img/manifests/v1`, { headers: { authorization: basic('guest', 'guest-password-12') } })).status).toBe(200);
  });

  it('public repositories allow anonymous pulls, never anonymous pushes; private ones challenge', async () => {
    const admin = await bearer(basic('admin', ADMIN.password), 'repository:pub/img:pull,push', 'repository:priv/img:pull,push');
    const { manifest } = await pushImage(admin, 'pub/img');
    await pushImage(admin, 'priv/img');
    await server.wharf.access!.identity.setRepositoryVisibility('pub/img', 'public');
    server.wharf.access!.invalidate();

    const anon = await token(undefined, 'repository:pub/img:pull,push', 'repository:priv/img:pull');
    expect(claims(anon.body.token!).access).toEqual([
      { type: 'repository', name: 'pub/img', actions: ['pull'] },
      { type: 'repository', name: 'priv/img', actions: [] },
    ]);
    const b = `Bearer ${anon.body.token}`;
    expect((await fetch(`${url}/v2/pub/img/manifests/${manifest}`, { headers: { authorization: b } })).status).toBe(200);
    expect((await fetch(`${url}/v2/pub/img/manifests/v1`)).status).toBe(200);
    const push = await fetch(`${url}/v2/pub/img/blobs/uploads/`, { method: 'POST' });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:pub/img:push"');
    const priv = await fetch(`${url}/v2/priv/img/manifests/v1`);
    expect(priv.status).toBe(401);
    expect(priv.headers.get('www-authenticate')).toContain('scope="repository:priv/img:pull"');
    expect((await fetch(`${url}/v2/_catalog`)).status).toBe(401);
  });

  it('_catalog lists only the repositories the caller may describe', async () => {
    await createUser('lister', 'lister-password-1', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: 'arn:aws:ecr:*:*:repository/team/*' }],
    });
    const res = await fetch(`${url}/v2/_catalog`, { headers: { authorization: basic('lister', 'lister-password-1') } });
    expect(res.status).toBe(200);
    const { repositories } = (await res.json()) as { repositories: string[] };
    expect(repositories.length).toBeGreaterThan(0);
    expect(repositories.every((r) => r.startsWith('team/'))).toBe(true);
    const all = (await (await fetch(`${url}/v2/_catalog`, { headers: { authorization: basic('admin', ADMIN.password) } })).json()) as { repositories: string[] };
    expect(all.repositories).toEqual(expect.arrayContaining(['priv/img', 'pub/img', 'team/app']));
    const page = await fetch(`${url}/v2/_catalog?n=1`, { headers: { authorization: basic('lister', 'lister-password-1') } });
    expect(((await page.json()) as { repositories: string[] }).repositories).toEqual([repositories[0]]);
    expect(page.headers.get('link')).toContain('/v2/_catalog?n=1&last=');
  });

  it('a mount from a repository the caller cannot read falls back to an upload', async () => {
    await createUser('pusher', 'pusher-password-1', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: 'arn:aws:ecr:*:*:repository/mine/*' }],
    });
    const admin = await bearer(basic('admin', ADMIN.password), 'repository:secret/src:pull,push');
    const { layer } = await pushImage(admin, 'secret/src');
    const pusher = basic('pusher', 'pusher-password-1');
    for (const query of [`mount=${layer}&from=secret/src`, `mount=${layer}`]) {
      const res = await fetch(`${url}/v2/mine/img/blobs/uploads/?${query}`, { method: 'POST', headers: { authorization: pusher } });
      expect(res.status, query).toBe(202);
    }
    expect((await fetch(`${url}/v2/mine/img/blobs/${layer}`, { method: 'HEAD', headers: { authorization: pusher } })).status).toBe(404);
  });

  it('registry-wide actions are on resource "*": a grant on repository/* does not reach them', async () => {
    const user = await createUser('repo-admin', 'repo-admin-password', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: 'arn:aws:ecr:*:*:repository/*' }],
    });
    const access = server.wharf.access!;
    const principal = access.principalOf(user, 'password');
    const ctx = { sourceIp: '127.0.0.1', secureTransport: false };
    expect((await access.decide(principal, 'ecr:PutImage', 'any/repo', ctx)).allowed).toBe(true);
    expect((await access.decide(principal, 'ecr:GetAuthorizationToken', null, ctx)).allowed).toBe(false);
    expect((await access.decide(principal, 'ecr:PutRegistryPolicy', null, ctx)).allowed).toBe(false);
  });

  it('inactive access keys and deleted users stop working', async () => {
    const user = await createUser('temp', 'temp-password-123', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    const identity = server.wharf.access!.identity;
    const secret = newSecretAccessKey();
    const keyId = awsStyleId('AKIA');
    await identity.createAccessKey(keyId, user.id, (server.wharf.access as unknown as { master: { encrypt(s: string): string } }).master.encrypt(secret));
    expect((await token(basic(keyId, secret))).status).toBe(200);
    const row = await identity.getAccessKey(keyId);
    expect(row!.secret_encrypted).not.toContain(secret);
    await identity.setAccessKeyStatus(keyId, 'Inactive');
    expect((await token(basic(keyId, secret))).status).toBe(401);
    const t = await bearer(basic('temp', 'temp-password-123'), 'repository:any/thing:pull');
    await identity.deleteUser(user.id);
    expect((await fetch(`${url}/v2/any/thing/tags/list`, { headers: { authorization: t } })).status).toBe(401);
  });
});

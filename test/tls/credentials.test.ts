// Credentials over plain HTTP from another machine are refused (400, before anything reads the
// request) unless allowInsecureCredentials is set; loopback clients, HTTPS, and a trusted proxy
// that says X-Forwarded-Proto: https are fine.
//
// A non-loopback client without leaving the machine: the server listens on 127.0.0.1 and the client
// binds its socket to this machine's own non-loopback address (eth0's), so the server sees that as
// the source while every packet stays on the loopback device.
import http from 'node:http';
import https from 'node:https';
import { networkInterfaces } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insecureCredentialsGuard, isLoopbackAddress, isSecureRequest } from '../../src/server/tls.js';
import { makeTestPki, startTlsWharf, type TestPki, type TlsWharf } from '../helpers/tls.js';
import { startWharf, type TestWharf } from '../helpers/wharf.js';

const BASIC = `Basic ${Buffer.from('alice:secret-password').toString('base64')}`;
const REMOTE = '192.0.2.10';

/** This machine's own non-loopback IPv4 address, if it has one. */
function localNonLoopbackIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['::FFFF:127.9.9.9', true],
    ['[::1]', true],
    ['192.0.2.10', false],
    ['::ffff:192.0.2.10', false],
    ['fd00::2', false],
    ['128.0.0.1', false],
    ['', false],
    [undefined, false],
  ] as const)('%s -> %s', (address, want) => {
    expect(isLoopbackAddress(address)).toBe(want);
  });
});

/** A bare app with the guard and two routes, as app.ts registers it. */
async function guarded(opts: { allowInsecureCredentials?: boolean; trustProxy?: boolean | string[] } = {}): Promise<FastifyInstance> {
  const app = Fastify(opts.trustProxy === undefined ? {} : { trustProxy: opts.trustProxy });
  await app.register(insecureCredentialsGuard, { allowInsecureCredentials: opts.allowInsecureCredentials ?? false });
  app.get('/v2/', async (req) => ({ secure: isSecureRequest(req) }));
  app.get('/ui/api/me', async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe('the guard (fastify.inject)', () => {
  it('refuses an Authorization header over plain HTTP from a remote address: OCI error on /v2, JSON elsewhere', async () => {
    const app = await guarded();
    const v2 = await app.inject({ url: '/v2/', remoteAddress: REMOTE, headers: { authorization: BASIC } });
    expect(v2.statusCode).toBe(400);
    const body = v2.json<{ errors: { code: string; message: string }[] }>();
    expect(body.errors[0]!.code).toBe('DENIED');
    expect(body.errors[0]!.message).toMatch(/credentials over plain HTTP are refused/);
    expect(v2.headers['content-type']).toMatch(/^application\/json/);

    const other = await app.inject({ url: '/ui/api/me', remoteAddress: REMOTE, headers: { authorization: 'Bearer abc' } });
    expect(other.statusCode).toBe(400);
    expect(other.json()).toEqual({ error: 'INSECURE_CREDENTIALS', message: expect.stringMatching(/allowInsecureCredentials/) });
    await app.close();
  });

  it('lets through requests without credentials, and loopback clients with them', async () => {
    const app = await guarded();
    expect((await app.inject({ url: '/v2/', remoteAddress: REMOTE })).statusCode).toBe(200);
    for (const remoteAddress of ['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1']) {
      const res = await app.inject({ url: '/v2/', remoteAddress, headers: { authorization: BASIC } });
      expect(res.statusCode, remoteAddress).toBe(200);
      expect(res.json()).toEqual({ secure: false });
    }
    await app.close();
  });

  it('lets everything through with allowInsecureCredentials', async () => {
    const app = await guarded({ allowInsecureCredentials: true });
    expect((await app.inject({ url: '/v2/', remoteAddress: REMOTE, headers: { authorization: BASIC } })).statusCode).toBe(200);
    await app.close();
  });

  it('believes X-Forwarded-Proto: https only from a trusted proxy', async () => {
    const trusted = await guarded({ trustProxy: ['10.0.0.0/8'] });
    const viaProxy = await trusted.inject({
      url: '/v2/',
      remoteAddress: '10.1.2.3',
      headers: { authorization: BASIC, 'x-forwarded-proto': 'https', 'x-forwarded-for': REMOTE },
    });
    expect(viaProxy.statusCode).toBe(200);
    expect(viaProxy.json()).toEqual({ secure: true });
    // the proxy received plain HTTP from a remote client: still refused
    const plainViaProxy = await trusted.inject({
      url: '/v2/',
      remoteAddress: '10.1.2.3',
      headers: { authorization: BASIC, 'x-forwarded-proto': 'http', 'x-forwarded-for': REMOTE },
    });
    expect(plainViaProxy.statusCode).toBe(400);
    // anyone else saying https is not believed
    const spoofed = await trusted.inject({ url: '/v2/', remoteAddress: REMOTE, headers: { authorization: BASIC, 'x-forwarded-proto': 'https' } });
    expect(spoofed.statusCode).toBe(400);
    await trusted.close();

    const untrusting = await guarded();
    const ignored = await untrusting.inject({ url: '/v2/', remoteAddress: '10.1.2.3', headers: { authorization: BASIC, 'x-forwarded-proto': 'https' } });
    expect(ignored.statusCode).toBe(400);
    await untrusting.close();
  });
});

describe('the guard in Wharf', () => {
  let plain: TestWharf;
  let allowing: TestWharf;
  beforeAll(async () => {
    plain = await startWharf();
    allowing = await startWharf({ config: { allowInsecureCredentials: true } });
  });
  afterAll(async () => {
    await plain?.stop();
    await allowing?.stop();
  });

  it('refuses before the /v2 handlers run (a push from a remote address stores nothing)', async () => {
    const res = await plain.wharf.app.inject({
      method: 'POST',
      url: '/v2/guard/test/blobs/uploads/',
      remoteAddress: REMOTE,
      headers: { authorization: BASIC },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].code).toBe('DENIED');
    expect(res.headers['x-request-id']).toBeDefined();
    const catalog = await plain.wharf.app.inject({ url: '/v2/_catalog' });
    expect(catalog.json().repositories ?? []).not.toContain('guard/test');
  });

  it('is off with allowInsecureCredentials', async () => {
    const res = await allowing.wharf.app.inject({ url: '/v2/', remoteAddress: REMOTE, headers: { authorization: BASIC } });
    expect(res.statusCode).not.toBe(400);
  });
});

describe('over real sockets, from this machine’s non-loopback address', () => {
  const source = localNonLoopbackIPv4();
  let plain: TestWharf;
  let pki: TestPki;
  let secure: TlsWharf;
  beforeAll(async () => {
    plain = await startWharf();
    pki = await makeTestPki();
    secure = await startTlsWharf(pki);
  });
  afterAll(async () => {
    await plain?.stop();
    await secure?.stop();
    await pki?.remove();
  });

  function get(port: number, headers: Record<string, string>, localAddress?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/v2/', headers, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  it('refuses Basic credentials over plain HTTP from a non-loopback source; accepts them from loopback', async (ctx) => {
    if (!source) return ctx.skip();
    const port = Number(new URL(plain.url).port);
    const remote = await get(port, { authorization: BASIC }, source);
    expect(remote.status).toBe(400);
    expect(JSON.parse(remote.body).errors[0].code).toBe('DENIED');
    const anonymous = await get(port, {}, source);
    expect(anonymous.status).toBe(200);
    const local = await get(port, { authorization: BASIC });
    expect(local.status).not.toBe(400);
  });

  it('accepts credentials over HTTPS from a non-loopback source', async (ctx) => {
    if (!source) return ctx.skip();
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: secure.port, path: '/v2/', ca: pki.ca.cert, headers: { authorization: BASIC }, agent: false, localAddress: source }, (r) => {
          r.resume();
          r.on('end', () => resolve(r.statusCode ?? 0));
        })
        .on('error', reject);
    });
    expect(status).toBe(200);
  });
});

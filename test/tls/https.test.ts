// HTTPS on Wharf's one port: HTTP/2 by ALPN and HTTP/1.1 for clients that do not offer it,
// the /v2 API over both (push monolithic and chunked, pull with GET, HEAD and Range, manifests,
// errors), and a shutdown that does not wait for idle HTTP/2 sessions.
import { createHash, randomBytes } from 'node:crypto';
import https from 'node:https';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect2, handshake, makeTestPki, request1, request2, startTlsWharf, type Answer, type RequestOptions, type TestPki, type TlsWharf } from '../helpers/tls.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('HTTPS with HTTP/2 and HTTP/1.1 on one port', () => {
  let pki: TestPki;
  let w: TlsWharf;

  beforeAll(async () => {
    pki = await makeTestPki();
    w = await startTlsWharf(pki);
  });
  afterAll(async () => {
    await w?.stop();
    await pki?.remove();
  });

  it('negotiates h2 by ALPN, and HTTP/1.1 when the client offers only that or nothing', async () => {
    expect((await handshake(w.port, pki.ca.cert, ['h2', 'http/1.1'])).alpn).toBe('h2');
    expect((await handshake(w.port, pki.ca.cert, ['http/1.1'])).alpn).toBe('http/1.1');
    expect((await handshake(w.port, pki.ca.cert)).alpn).toBe(false);
    // without ALPN the server must still speak HTTP/1.1 (old clients)
    const res = await request1(`${w.httpsUrl}/v2/`, { ca: pki.ca.cert });
    expect(res.status).toBe(200);
  });

  it('refuses a client that does not trust the CA (the certificate is really checked)', async () => {
    const other = await makeTestPki();
    try {
      await expect(request1(`${w.httpsUrl}/v2/`, { ca: other.ca.cert })).rejects.toThrow(/self.signed|unable to verify|certificate/i);
    } finally {
      await other.remove();
    }
  });

  for (const [proto, send] of [
    ['HTTP/1.1', (path: string, o: Omit<RequestOptions, 'ca'> = {}) => request1(`${w.httpsUrl}${path}`, { ...o, ca: pki.ca.cert })],
    ['HTTP/2', (path: string, o: Omit<RequestOptions, 'ca'> = {}) => request2(`${w.httpsUrl}${path}`, { ...o, ca: pki.ca.cert })],
  ] as const) {
    describe(proto, () => {
      const repo = `tls/${proto === 'HTTP/2' ? 'h2' : 'h1'}`;
      const want = proto === 'HTTP/2' ? 'h2' : 'http/1.1';

      it('GET /v2/ answers 200 {} with the API version header', async () => {
        const res = await send('/v2/');
        expect(res.alpn).toBe(want);
        expect(res.status).toBe(200);
        expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
        expect(JSON.parse(res.body.toString())).toEqual({});
        expect(res.serial).toBe(pki.serial);
      });

      it('pushes a blob in one request and pulls it back with GET, HEAD and Range', async () => {
        // bigger than HTTP/2's 64 KiB initial window, so flow control is exercised both ways
        const data = randomBytes(3 * 1024 * 1024 + 17);
        const digest = sha256(data);
        const put = await send(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
          body: data,
        });
        expect(put.status, put.body.toString()).toBe(201);
        expect(put.headers['docker-content-digest']).toBe(digest);

        const got = await send(`/v2/${repo}/blobs/${digest}`);
        expect(got.status).toBe(200);
        expect(got.headers['content-length']).toBe(String(data.length));
        expect(got.body.equals(data)).toBe(true);

        const head = await send(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.headers['content-length']).toBe(String(data.length));
        expect(head.headers['docker-content-digest']).toBe(digest);
        expect(head.body.length).toBe(0);

        const part = await send(`/v2/${repo}/blobs/${digest}`, { headers: { range: 'bytes=100-199' } });
        expect(part.status).toBe(206);
        expect(part.headers['content-range']).toBe(`bytes 100-199/${data.length}`);
        expect(part.body.equals(data.subarray(100, 200))).toBe(true);
      });

      it('pushes a blob in chunks (POST, PATCH streamed, PATCH, PUT) and reports upload status', async () => {
        const data = randomBytes(700 * 1024);
        const digest = sha256(data);
        const a = data.subarray(0, 400 * 1024);
        const b = data.subarray(400 * 1024);
        const start = await send(`/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
        expect(start.status).toBe(202);
        let location = String(start.headers.location);
        // a streamed chunk with no Content-Length (chunked on HTTP/1.1, DATA frames on HTTP/2)
        const p1 = await send(location, {
          method: 'PATCH',
          headers: { 'content-type': 'application/octet-stream' },
          body: Readable.from([a.subarray(0, 100_000), a.subarray(100_000)]),
        });
        expect(p1.status, p1.body.toString()).toBe(202);
        expect(p1.headers.range).toBe(`0-${a.length - 1}`);
        location = String(p1.headers.location);
        const p2 = await send(location, {
          method: 'PATCH',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(b.length), 'content-range': `${a.length}-${data.length - 1}` },
          body: b,
        });
        expect(p2.status, p2.body.toString()).toBe(202);
        location = String(p2.headers.location);
        const status = await send(location);
        expect(status.status).toBe(204);
        expect(status.headers.range).toBe(`0-${data.length - 1}`);
        const done = await send(`${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT', headers: { 'content-length': '0' } });
        expect(done.status, done.body.toString()).toBe(201);
        const got = await send(`/v2/${repo}/blobs/${digest}`);
        expect(sha256(got.body)).toBe(digest);
      });

      it('finishes an upload with a final chunk streamed in the PUT (no Content-Length)', async () => {
        const data = randomBytes(300 * 1024);
        const digest = sha256(data);
        const start = await send(`/v2/${repo}/final/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
        const location = String(start.headers.location);
        const done = await send(`${location}?digest=${digest}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        });
        expect(done.status, done.body.toString()).toBe(201);
        expect(sha256((await send(`/v2/${repo}/final/blobs/${digest}`)).body)).toBe(digest);
      });

      it('pushes and pulls a manifest; HEAD carries its length and no body', async () => {
        const config = Buffer.from('{}');
        const layer = randomBytes(1024);
        for (const blob of [config, layer]) {
          const res = await send(`/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, {
            method: 'POST',
            headers: { 'content-length': String(blob.length) },
            body: blob,
          });
          expect(res.status).toBe(201);
        }
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
          }),
        );
        const put = await send(`/v2/${repo}/manifests/v1`, {
          method: 'PUT',
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(manifest.length) },
          body: manifest,
        });
        expect(put.status, put.body.toString()).toBe(201);
        const get = await send(`/v2/${repo}/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
        expect(get.status).toBe(200);
        expect(get.body.equals(manifest)).toBe(true);
        expect(get.headers['docker-content-digest']).toBe(sha256(manifest));
        const head = await send(`/v2/${repo}/manifests/v1`, { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.headers['content-length']).toBe(String(manifest.length));
        expect(head.body.length).toBe(0);
        const tags = await send(`/v2/${repo}/tags/list`);
        expect(JSON.parse(tags.body.toString())).toEqual({ name: repo, tags: ['v1'] });
      });

      it('answers errors in the OCI format, and a HEAD error with the status alone', async () => {
        const missing = sha256(Buffer.from(`missing ${proto}`));
        const get: Answer = await send(`/v2/${repo}/blobs/${missing}`);
        expect(get.status).toBe(404);
        expect(JSON.parse(get.body.toString()).errors[0].code).toBe('BLOB_UNKNOWN');
        const head = await send(`/v2/${repo}/blobs/${missing}`, { method: 'HEAD' });
        expect(head.status).toBe(404);
        expect(head.body.length).toBe(0);
      });
    });
  }

  it('serves many requests concurrently on one HTTP/2 session', async () => {
    const data = randomBytes(256 * 1024);
    const digest = sha256(data);
    const client = await connect2(w.httpsUrl, { ca: pki.ca.cert });
    try {
      const put = await client.request(`/v2/tls/multiplex/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'content-length': String(data.length) },
        body: data,
      });
      expect(put.status).toBe(201);
      const answers = await Promise.all(Array.from({ length: 20 }, () => client.request(`/v2/tls/multiplex/blobs/${digest}`)));
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.body.equals(data)).toBe(true);
      }
    } finally {
      await client.close();
    }
  });
});

describe('shutdown over HTTPS', () => {
  it('does not wait for an idle HTTP/2 session, and lets an in-flight HTTP/2 request finish', async () => {
    const pki = await makeTestPki();
    const w = await startTlsWharf(pki);
    try {
      const data = randomBytes(2 * 1024 * 1024);
      const digest = sha256(data);
      const idle = await connect2(w.httpsUrl, { ca: pki.ca.cert });
      const busy = await connect2(w.httpsUrl, { ca: pki.ca.cert });
      expect((await idle.request('/v2/')).status).toBe(200);

      // an upload whose body is still arriving when close() starts
      const body = new Readable({ read() {} });
      const upload = busy.request(`/v2/tls/drain/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'content-length': String(data.length) },
        body,
      });
      body.push(data.subarray(0, 1024 * 1024));
      await new Promise((r) => setTimeout(r, 200));

      const started = Date.now();
      const closing = w.wharf.close();
      await new Promise((r) => setTimeout(r, 200));
      body.push(data.subarray(1024 * 1024));
      body.push(null);
      expect((await upload).status).toBe(201);
      await closing;
      // the HTTP/2 session idle timeout is 72 s; close must not wait for it
      expect(Date.now() - started).toBeLessThan(10_000);
      await idle.close();
      await busy.close();
    } finally {
      await w.stop().catch(() => undefined);
      await pki.remove();
    }
  });

  it('does not wait for an idle HTTP/1.1 keep-alive connection', async () => {
    const pki = await makeTestPki();
    const w = await startTlsWharf(pki);
    const agent = new https.Agent({ keepAlive: true, ca: pki.ca.cert });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        https
          .get(`${w.httpsUrl}/v2/`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject);
      });
      expect(status).toBe(200);
      const started = Date.now();
      await w.wharf.close();
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      agent.destroy();
      await w.stop().catch(() => undefined);
      await pki.remove();
    }
  });
});

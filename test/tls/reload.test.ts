// Certificate rotation without a restart: new connections get the new certificate within a few
// seconds; a broken file, or a key that does not (yet) match the certificate, keeps the old one.
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CertificateReloader, loadKeyPair, TlsFileError } from '../../src/server/tls.js';
import { connect2, handshake, makeTestPki, newServerCert, request1, request2, rotate, startTlsWharf, waitFor, type TestPki, type TlsWharf } from '../helpers/tls.js';

/** Long enough for the reloader (250 ms debounce) to have acted on a change, if it were going to. */
const SETTLE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('certificate rotation on a running server', () => {
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

  const served = () => handshake(w.port, pki.ca.cert, ['h2', 'http/1.1']).then((h) => h.serial);

  it('serves a certificate rewritten in place within a few seconds, over HTTP/1.1 and HTTP/2 (h2 still by ALPN)', async () => {
    const before = pki.serial;
    expect(await served()).toBe(before);
    const started = Date.now();
    const next = await rotate(pki);
    expect(next).not.toBe(before);
    expect(await waitFor(served, (s) => s === next, 5000)).toBe(next);
    expect(Date.now() - started).toBeLessThan(5000);

    const h1 = await request1(`${w.httpsUrl}/v2/`, { ca: pki.ca.cert });
    expect([h1.status, h1.serial, h1.alpn]).toEqual([200, next, 'http/1.1']);
    const h2 = await request2(`${w.httpsUrl}/v2/`, { ca: pki.ca.cert });
    expect([h2.status, h2.serial, h2.alpn]).toEqual([200, next, 'h2']);
  });

  it('serves a certificate replaced by rename (how cert-manager and certbot write)', async () => {
    const next = await rotate(pki, { atomic: true });
    expect(await waitFor(served, (s) => s === next, 5000)).toBe(next);
  });

  it('keeps open HTTP/2 sessions working across a rotation', async () => {
    const client = await connect2(w.httpsUrl, { ca: pki.ca.cert });
    try {
      const old = client.serial;
      const next = await rotate(pki);
      expect(await waitFor(served, (s) => s === next, 5000)).toBe(next);
      const res = await client.request('/v2/');
      expect(res.status).toBe(200);
      expect(client.serial).toBe(old);
    } finally {
      await client.close();
    }
  });

  it('keeps serving the current certificate when the new file is broken, and takes the next good one', async () => {
    const current = pki.serial;
    await writeFile(pki.certFile, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
    await sleep(SETTLE_MS);
    expect(await served()).toBe(current);
    expect((await request2(`${w.httpsUrl}/v2/`, { ca: pki.ca.cert })).status).toBe(200);

    await writeFile(pki.certFile, '');
    await sleep(SETTLE_MS);
    expect(await served()).toBe(current);

    const next = await rotate(pki);
    expect(await waitFor(served, (s) => s === next, 5000)).toBe(next);
  });

  it('waits for the matching key when the certificate is rewritten first', async () => {
    const current = pki.serial;
    const next = await newServerCert(pki);
    await writeFile(pki.certFile, next.cert);
    await sleep(SETTLE_MS);
    expect(await served()).toBe(current);
    expect((await request1(`${w.httpsUrl}/v2/`, { ca: pki.ca.cert })).status).toBe(200);

    await writeFile(pki.keyFile, next.key);
    pki.serial = next.serial;
    expect(await waitFor(served, (s) => s === next.serial, 5000)).toBe(next.serial);
  });

  it('keeps serving when the files disappear for a while', async () => {
    const current = pki.serial;
    const [cert, key] = await Promise.all([readFile(pki.certFile), readFile(pki.keyFile)]);
    await rm(pki.certFile);
    await rm(pki.keyFile);
    await sleep(SETTLE_MS);
    expect(await served()).toBe(current);
    await writeFile(pki.keyFile, key);
    await writeFile(pki.certFile, cert);
    await sleep(SETTLE_MS);
    expect(await served()).toBe(current);
  });
});

describe('CertificateReloader', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await makeTestPki();
  });
  afterAll(async () => {
    await pki?.remove();
  });

  function fakeLog() {
    const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
    return { log, logger: log as unknown as Logger };
  }

  it('reports unchanged, reloaded and failed, and swaps only a good, matching pair', async () => {
    const server = { setSecureContext: vi.fn() };
    const { log, logger } = fakeLog();
    const r = new CertificateReloader(server, pki.certFile, pki.keyFile, await loadKeyPair(pki.certFile, pki.keyFile), logger);
    expect(await r.reload()).toBe('unchanged');
    expect(server.setSecureContext).not.toHaveBeenCalled();

    const serial = await rotate(pki);
    expect(await r.reload()).toBe('reloaded');
    expect(server.setSecureContext).toHaveBeenCalledTimes(1);
    const ctx = server.setSecureContext.mock.calls[0]![0] as { cert: Buffer; key: Buffer; minVersion: string };
    expect(ctx.cert.toString()).toBe(await readFile(pki.certFile, 'utf8'));
    expect(ctx.minVersion).toBe('TLSv1.2');
    expect(r.certificate.serialNumber).toBe(serial);
    // the new certificate's subject and expiry are logged
    const [fields, message] = log.info.mock.calls.at(-1)! as [{ certificate: { subject: string; validTo: string; serialNumber: string } }, string];
    expect(message).toBe('TLS certificate reloaded');
    expect(fields.certificate.subject).toBe('CN=127.0.0.1');
    expect(fields.certificate.serialNumber).toBe(serial);
    expect(Date.parse(fields.certificate.validTo)).toBeGreaterThan(Date.now() + 300 * 86_400_000);

    const next = await newServerCert(pki);
    await writeFile(pki.certFile, next.cert);
    expect(await r.reload()).toBe('failed');
    expect(log.warn).toHaveBeenCalledWith(expect.objectContaining({ reason: expect.stringMatching(/does not belong/) }), expect.stringMatching(/do not match/));
    await writeFile(pki.certFile, 'garbage');
    expect(await r.reload()).toBe('failed');
    expect(log.error).toHaveBeenCalledWith(expect.objectContaining({ reason: expect.stringMatching(/not a PEM certificate/) }), expect.any(String));
    expect(server.setSecureContext).toHaveBeenCalledTimes(1);
    expect(r.certificate.serialNumber).toBe(serial);

    await writeFile(pki.certFile, next.cert);
    await writeFile(pki.keyFile, next.key);
    pki.serial = next.serial;
    expect(await r.reload()).toBe('reloaded');
    expect(r.certificate.serialNumber).toBe(next.serial);
  });

  it('notices changes by polling alone (no fs.watch), after a debounce', async () => {
    const server = { setSecureContext: vi.fn() };
    const r = new CertificateReloader(server, pki.certFile, pki.keyFile, await loadKeyPair(pki.certFile, pki.keyFile), fakeLog().logger, {
      watch: false,
      pollMs: 100,
      debounceMs: 50,
    });
    r.start();
    try {
      await sleep(300);
      const serial = await rotate(pki);
      await waitFor(async () => r.certificate.serialNumber, (s) => s === serial, 5000, 50);
      expect(r.certificate.serialNumber).toBe(serial);
      expect(server.setSecureContext).toHaveBeenCalledTimes(1);
    } finally {
      r.stop();
    }
  });

  it('follows a Kubernetes-style secret update (a ..data symlink swapped by rename)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-k8s-'));
    try {
      const put = async (version: string, pair: { cert: string; key: string }) => {
        await mkdir(join(dir, version));
        await writeFile(join(dir, version, 'tls.crt'), pair.cert);
        await writeFile(join(dir, version, 'tls.key'), pair.key);
        await symlink(version, join(dir, '..data_tmp'));
        await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      };
      const first = await newServerCert(pki);
      await put('..v1', first);
      await symlink('..data/tls.crt', join(dir, 'tls.crt'));
      await symlink('..data/tls.key', join(dir, 'tls.key'));
      const certFile = join(dir, 'tls.crt');
      const keyFile = join(dir, 'tls.key');
      const server = { setSecureContext: vi.fn() };
      // polling every 60 s: only fs.watch can make this pass in time
      const r = new CertificateReloader(server, certFile, keyFile, await loadKeyPair(certFile, keyFile), fakeLog().logger, { pollMs: 60_000, debounceMs: 50 });
      r.start();
      try {
        const second = await newServerCert(pki);
        await put('..v2', second);
        await waitFor(async () => r.certificate.serialNumber, (s) => s === second.serial, 5000, 50);
        expect(r.certificate.serialNumber).toBe(second.serial);
      } finally {
        r.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('loadKeyPair says which file is wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-tlsfiles-'));
    try {
      const good = await newServerCert(pki);
      const other = await newServerCert(pki);
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      await expect(loadKeyPair(cert, key)).rejects.toThrow(/cannot read the TLS certificate .*cert\.pem/);
      await writeFile(cert, good.cert);
      await writeFile(key, 'nope');
      await expect(loadKeyPair(cert, key)).rejects.toThrow(/key\.pem is not a PEM private key/);
      await writeFile(key, other.key);
      const mismatch = await loadKeyPair(cert, key).catch((e: unknown) => e);
      expect(mismatch).toBeInstanceOf(TlsFileError);
      expect((mismatch as TlsFileError).mismatch).toBe(true);
      await writeFile(key, good.key);
      // a chain (leaf, then the CA) is fine: the leaf is the first certificate
      await writeFile(cert, good.cert + pki.ca.cert);
      const pair = await loadKeyPair(cert, key);
      expect(pair.info.serialNumber).toBe(good.serial);
      expect(pair.info.issuer).toContain('CN=Wharf test CA');
      expect(pair.info.subjectAltName).toContain('IP Address:127.0.0.1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

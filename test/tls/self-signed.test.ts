// `wharf serve --tls-self-signed HOST`: a trial CA and server certificate under <data dir>/tls,
// keys mode 0600, reused on later starts, re-issued (from the same CA) for another host or when
// expiring, and instructions for trusting it printed once to stderr.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSelfSigned, selfSignedFiles, trustInstructions } from '../../src/server/tls-self-signed.js';
import { request1, request2, spawnTlsWharf } from '../helpers/tls.js';

const DAY = 86_400_000;
const mode = async (path: string) => (await stat(path)).mode & 0o777;
const snapshot = async (dataDir: string) => {
  const f = selfSignedFiles(dataDir);
  return Object.fromEntries(await Promise.all([f.caFile, f.caKeyFile, f.certFile, f.keyFile].map(async (p) => [p, await readFile(p, 'utf8')] as const)));
};

describe('ensureSelfSigned', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wharf-selfsigned-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates a CA and a server certificate for HOST, 127.0.0.1, localhost and ::1, keys mode 0600', async () => {
    const result = await ensureSelfSigned(dataDir, 'registry.example.test');
    expect(result.created).toBe('all');
    const f = result.files;
    expect(await mode(f.dir)).toBe(0o700);
    expect(await mode(f.caKeyFile)).toBe(0o600);
    expect(await mode(f.keyFile)).toBe(0o600);
    expect(await mode(f.caFile)).toBe(0o644);
    expect(await mode(f.certFile)).toBe(0o644);

    const ca = new X509Certificate(await readFile(f.caFile));
    const leaf = new X509Certificate(await readFile(f.certFile));
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost('registry.example.test')).toBe('registry.example.test');
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkHost('other.example.test')).toBeUndefined();
    // about a year for the server certificate, longer for the CA
    const leafDays = (Date.parse(leaf.validTo) - Date.now()) / DAY;
    expect(leafDays).toBeGreaterThan(360);
    expect(leafDays).toBeLessThan(370);
    expect(Date.parse(ca.validTo)).toBeGreaterThan(Date.parse(leaf.validTo));
    expect(leaf.keyUsage ?? []).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  it('reuses everything on the next start for the same host', async () => {
    const before = await snapshot(dataDir);
    const result = await ensureSelfSigned(dataDir, 'registry.example.test');
    expect(result.created).toBe('none');
    expect(await snapshot(dataDir)).toEqual(before);
  });

  it('re-issues only the server certificate, from the same CA, for another host', async () => {
    const f = selfSignedFiles(dataDir);
    const before = await snapshot(dataDir);
    const result = await ensureSelfSigned(dataDir, '192.0.2.10');
    expect(result.created).toBe('certificate');
    const after = await snapshot(dataDir);
    expect(after[f.caFile]).toBe(before[f.caFile]);
    expect(after[f.caKeyFile]).toBe(before[f.caKeyFile]);
    expect(after[f.certFile]).not.toBe(before[f.certFile]);
    const leaf = new X509Certificate(after[f.certFile]!);
    expect(leaf.checkIP('192.0.2.10')).toBe('192.0.2.10');
    expect(leaf.verify(new X509Certificate(after[f.caFile]!).publicKey)).toBe(true);
  });

  it('re-issues a server certificate that is about to expire, and replaces a broken CA', async () => {
    const f = selfSignedFiles(dataDir);
    const before = await snapshot(dataDir);
    const result = await ensureSelfSigned(dataDir, '192.0.2.10', new Date(Date.now() + 360 * DAY));
    expect(result.created).toBe('certificate');
    expect((await snapshot(dataDir))[f.caFile]).toBe(before[f.caFile]);

    await rm(f.caKeyFile);
    expect((await ensureSelfSigned(dataDir, '192.0.2.10')).created).toBe('all');
    expect((await snapshot(dataDir))[f.caFile]).not.toBe(before[f.caFile]);
  });

  it('tells how to trust the CA for docker, podman/skopeo and curl', async () => {
    const result = await ensureSelfSigned(dataDir, 'registry.example.test');
    const text = trustInstructions(result, 5443);
    expect(text).toContain(`/etc/docker/certs.d/registry.example.test:5443/ca.crt`);
    expect(text).toContain(`/etc/containers/certs.d/registry.example.test:5443/ca.crt`);
    expect(text).toContain('--cert-dir');
    expect(text).toContain(`curl --cacert ${result.files.caFile} https://registry.example.test:5443/v2/`);
    expect(trustInstructions({ ...result, hosts: ['::1'] }, 5443)).toContain('certs.d/[::1]:5443/ca.crt');
  });
});

describe('wharf serve --tls-self-signed (the built CLI)', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wharf-selfsigned-cli-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  const ca = () => readFile(selfSignedFiles(dataDir).caFile);

  it('creates the CA and certificate, prints how to trust it, and serves HTTPS (HTTP/1.1 and h2) that the CA verifies', async () => {
    const p = await spawnTlsWharf({ dataDir, flags: ['--tls-self-signed', 'wharf.test'], ca });
    try {
      const f = selfSignedFiles(dataDir);
      expect(await mode(f.keyFile)).toBe(0o600);
      expect(await mode(f.caKeyFile)).toBe(0o600);
      const err = p.stderr();
      expect(err).toContain('created a certificate authority for trials');
      expect(err).toContain(`/etc/docker/certs.d/wharf.test:${p.port}/ca.crt`);
      expect(err).toContain(`curl --cacert ${f.caFile}`);
      expect(err.match(/Clients must trust/g)).toHaveLength(1);

      const caPem = await ca();
      const h1 = await request1(`https://127.0.0.1:${p.port}/v2/`, { ca: caPem });
      expect([h1.status, h1.alpn]).toEqual([200, 'http/1.1']);
      const h2 = await request2(`https://127.0.0.1:${p.port}/v2/`, { ca: caPem });
      expect([h2.status, h2.alpn]).toEqual([200, 'h2']);
      // the certificate is valid for the name HOST too (connecting to 127.0.0.1, checking wharf.test)
      const named = await request1(`https://127.0.0.1:${p.port}/v2/`, { ca: caPem, servername: 'wharf.test' });
      expect(named.status).toBe(200);
      expect(p.stdout()).toContain('TLS certificate loaded');
    } finally {
      expect(await p.stop()).toBe(0);
    }
  });

  it('reuses the same files on restart', async () => {
    const before = await snapshot(dataDir);
    const p = await spawnTlsWharf({ dataDir, flags: ['--tls-self-signed', 'wharf.test'], ca });
    try {
      expect(await snapshot(dataDir)).toEqual(before);
      expect(p.stderr()).toContain('using the trial certificate authority');
      const res = await request1(`https://127.0.0.1:${p.port}/healthz`, { ca: before[selfSignedFiles(dataDir).caFile]! });
      expect(res.status).toBe(200);
    } finally {
      expect(await p.stop()).toBe(0);
    }
  });

  it('refuses --tls-self-signed together with --tls-cert, naming both', async () => {
    const p = spawnTlsWharf({ dataDir, flags: ['--tls-self-signed', 'wharf.test', '--tls-cert', 'x.pem', '--tls-key', 'y.pem'], ca });
    await expect(p).rejects.toThrow(/tlsSelfSigned .*tlsCert\/tlsKey exclude each other/);
  });
});

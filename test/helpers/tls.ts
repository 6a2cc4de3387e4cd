// TLS test helpers: a test CA and server certificates (made by Wharf's own trial-certificate code),
// a Wharf serving HTTPS, and HTTP/1.1 and HTTP/2 clients that trust the test CA and say which
// certificate and protocol they got. Every connection goes to 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createCa, issueServerCertificate, type PemPair } from '../../src/server/tls-self-signed.js';
import { freePort } from './net.js';
import { startWharf, type StartOptions, type TestWharf } from './wharf.js';

export interface TestPki {
  dir: string;
  ca: PemPair;
  /** the CA certificate (PEM) */
  caFile: string;
  /** a directory holding the CA as ca.crt: what skopeo's --cert-dir / docker's certs.d want */
  certDir: string;
  certFile: string;
  keyFile: string;
  /** the serial number (uppercase hex, as node prints it) of the certificate in certFile */
  serial: string;
  remove(): Promise<void>;
}

export const LOCAL_HOSTS = ['127.0.0.1', 'localhost', '::1'];

/** A fresh CA and a server certificate for 127.0.0.1/localhost/::1, as files in a temp dir. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-tls-'));
  const ca = await createCa('Wharf test CA');
  const certDir = join(dir, 'certs.d');
  await mkdir(certDir);
  await writeFile(join(dir, 'ca.pem'), ca.cert);
  await writeFile(join(certDir, 'ca.crt'), ca.cert);
  const pki: TestPki = {
    dir,
    ca,
    caFile: join(dir, 'ca.pem'),
    certDir,
    certFile: join(dir, 'cert.pem'),
    keyFile: join(dir, 'key.pem'),
    serial: '',
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  await rotate(pki);
  return pki;
}

/** A new server certificate from the same CA; returns it without writing it. */
export async function newServerCert(pki: TestPki, hosts = LOCAL_HOSTS): Promise<PemPair & { serial: string }> {
  const pair = await issueServerCertificate(pki.ca, hosts);
  return { ...pair, serial: new X509Certificate(pair.cert).serialNumber };
}

/**
 * Replaces the certificate and key files with a new pair, the way `cp` would (rewritten in
 * place, key first) or the way cert-manager/certbot would (`atomic`: written aside and renamed).
 */
export async function rotate(pki: TestPki, opts: { atomic?: boolean } = {}): Promise<string> {
  const next = await newServerCert(pki);
  for (const [path, text] of [
    [pki.keyFile, next.key],
    [pki.certFile, next.cert],
  ] as const) {
    if (opts.atomic) {
      await writeFile(`${path}.new`, text, { mode: 0o600 });
      await rename(`${path}.new`, path);
    } else {
      await writeFile(path, text, { mode: 0o600 });
    }
  }
  pki.serial = next.serial;
  return next.serial;
}

export interface TlsWharf extends TestWharf {
  /** https://127.0.0.1:PORT */
  httpsUrl: string;
  port: number;
}

/** startWharf with tlsCert/tlsKey from `pki`; `url` stays http:// as wharf.ts builds it, `httpsUrl` is the one to use. */
export async function startTlsWharf(pki: TestPki, opts: StartOptions = {}): Promise<TlsWharf> {
  const w = await startWharf({ ...opts, config: { tlsCert: pki.certFile, tlsKey: pki.keyFile, ...opts.config } });
  const port = Number(new URL(w.url).port);
  return { ...w, httpsUrl: `https://127.0.0.1:${port}`, port };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** the negotiated protocol: 'h2' or 'http/1.1' */
  alpn: string | false | null | undefined;
  /** the serial number of the certificate the server presented */
  serial: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  ca: string | Buffer;
  /** TLS server name to check the certificate against (default: the URL's host) */
  servername?: string;
}

/** One HTTP/1.1 request over a new TLS connection (so each call sees the current certificate). */
export function request1(url: string, opts: RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions & tls.ConnectionOptions = {
      method: opts.method ?? 'GET',
      headers: opts.headers,
      ca: opts.ca,
      agent: false,
      ALPNProtocols: ['http/1.1'],
      ...(opts.servername ? { servername: opts.servername } : {}),
    };
    const req = https.request(url, options);
    req.once('error', reject);
    req.once('response', (res) => {
      const socket = res.socket as tls.TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber;
      const alpn = socket.alpnProtocol;
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), alpn, serial }));
    });
    sendBody(req, opts.body);
  });
}

function sendBody(req: NodeJS.WritableStream, body: RequestOptions['body']): void {
  if (body === undefined) req.end();
  else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
  else body.pipe(req);
}

/** An HTTP/2 client session to the registry; `close()` when done. */
export async function connect2(origin: string, opts: { ca: string | Buffer; servername?: string }): Promise<H2Client> {
  const session = http2.connect(origin, { ca: opts.ca, ...(opts.servername ? { servername: opts.servername } : {}) });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.on('error', () => undefined); // reported per request
  return new H2Client(session);
}

export class H2Client {
  constructor(readonly session: http2.ClientHttp2Session) {}

  get alpn(): string | undefined {
    return this.session.alpnProtocol;
  }

  get serial(): string {
    return (this.session.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
  }

  request(path: string, opts: Omit<RequestOptions, 'ca'> = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const method = opts.method ?? 'GET';
      const stream = this.session.request({ ':method': method, ':path': path, ...opts.headers }, { endStream: opts.body === undefined });
      stream.once('error', reject);
      let headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader = {};
      stream.once('response', (h) => (headers = h));
      const parts: Buffer[] = [];
      stream.on('data', (b: Buffer) => parts.push(b));
      stream.once('end', () => {
        const { ':status': status, ...rest } = headers;
        resolve({ status: Number(status), headers: rest, body: Buffer.concat(parts), alpn: this.alpn, serial: this.serial });
      });
      if (opts.body !== undefined) sendBody(stream, opts.body);
    });
  }

  close(): Promise<void> {
    if (this.session.closed || this.session.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.session.once('close', () => resolve());
      this.session.close();
    });
  }
}

/** One HTTP/2 request on its own session. */
export async function request2(url: string, opts: RequestOptions): Promise<Answer> {
  const u = new URL(url);
  const client = await connect2(u.origin, opts);
  try {
    return await client.request(u.pathname + u.search, opts);
  } finally {
    await client.close();
  }
}

/** The certificate serial and ALPN protocol a bare TLS handshake gets, offering `alpn`. */
export function handshake(port: number, ca: string | Buffer, alpn?: string[]): Promise<{ serial: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ...(alpn ? { ALPNProtocols: alpn } : {}) }, () => {
      const result = { serial: socket.getPeerCertificate().serialNumber, alpn: socket.alpnProtocol ?? false };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

/** Retries `probe` until `accept` holds or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(probe: () => Promise<T>, accept: (v: T) => boolean, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (accept(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------------
// The built CLI over HTTPS (test/helpers/process.ts waits for plain HTTP)

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface TlsProcess {
  port: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/**
 * Runs `wharf serve` from dist/ on a free 127.0.0.1 port with `flags`, and waits until
 * https://127.0.0.1:PORT/healthz answers with a certificate that `caFile()` (read once the server
 * has made it) verifies.
 */
export async function spawnTlsWharf(args: { dataDir: string; flags: string[]; ca: () => Promise<string | Buffer>; env?: Record<string, string> }): Promise<TlsProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', args.dataDir, ...args.flags], {
    env: { ...process.env, WHARF_LOG_LEVEL: 'info', WHARF_AUTH: 'none', ...args.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await request1(`https://127.0.0.1:${port}/healthz`, { ca: await args.ca() });
      if (res.status === 200) break;
    } catch (e) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`wharf did not start over HTTPS: ${String(e)}\n--- stderr ---\n${err}\n--- stdout ---\n${out}`);
      }
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { port, child, stdout: () => out, stderr: () => err, stop };
}

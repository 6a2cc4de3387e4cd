// Transport security: HTTPS with HTTP/2 (ALPN h2, HTTP/1.1 on the same port), certificates reloaded
// from disk without a restart, trial certificates (--tls-self-signed), and refusing credentials that
// arrive over plain HTTP from another machine.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import { isIPv4 } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';

// ---------------------------------------------------------------------------------------------
// Certificate files

export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  subjectAltName: string | undefined;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
}

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
  info: CertificateInfo;
  /** sha256 over both files' bytes: tells a real change from a touched file */
  hash: string;
}

export class TlsFileError extends Error {
  override name = 'TlsFileError';
  constructor(
    message: string,
    /** the key does not belong to the certificate: often one of the pair is rewritten, the other not yet */
    readonly mismatch = false,
  ) {
    super(message);
  }
}

/** What every secure context of the server is made with besides the key and certificate. */
const BASE_TLS: SecureContextOptions = { minVersion: 'TLSv1.2' };

/**
 * Reads and checks a certificate and key: both parse, the key belongs to the (first) certificate,
 * and OpenSSL accepts them together. Throws TlsFileError saying which file is wrong.
 */
export async function loadKeyPair(certFile: string, keyFile: string): Promise<KeyPair> {
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new TlsFileError(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  const [cert, key] = await Promise.all([read(certFile, 'certificate'), read(keyFile, 'key')]);
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch (err) {
    throw new TlsFileError(`${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError(`${keyFile} is not a PEM private key (without a passphrase): ${(err as Error).message}`);
  }
  if (!x.checkPrivateKey(privateKey)) throw new TlsFileError(`the key in ${keyFile} does not belong to the certificate in ${certFile}`, true);
  try {
    createSecureContext({ ...BASE_TLS, cert, key });
  } catch (err) {
    throw new TlsFileError(`${certFile} and ${keyFile} are not usable together: ${(err as Error).message}`);
  }
  return {
    cert,
    key,
    info: {
      subject: x.subject.replace(/\n/g, ', '),
      issuer: x.issuer.replace(/\n/g, ', '),
      serialNumber: x.serialNumber,
      subjectAltName: x.subjectAltName,
      validFrom: new Date(x.validFrom).toISOString(),
      validTo: new Date(x.validTo).toISOString(),
      fingerprint256: x.fingerprint256,
    },
    hash: createHash('sha256').update(cert).update('\0').update(key).digest('hex'),
  };
}

function logCertificate(log: Logger, info: CertificateInfo, message: string): void {
  log.info({ certificate: info }, message);
  const left = Date.parse(info.validTo) - Date.now();
  if (left <= 0) log.error({ validTo: info.validTo }, 'the TLS certificate has expired: clients will refuse it');
  else if (left < 14 * 86_400_000) log.warn({ validTo: info.validTo }, 'the TLS certificate expires in less than 14 days');
  if (Date.parse(info.validFrom) > Date.now()) log.warn({ validFrom: info.validFrom }, 'the TLS certificate is not valid yet');
}

// ---------------------------------------------------------------------------------------------
// Reloading

export interface ReloaderOptions {
  /** quiet time after the last change before the files are read (writers rewrite two files) */
  debounceMs?: number;
  /** how often the files are stat()ed, for changes fs.watch misses (symlink swaps, network filesystems) */
  pollMs?: number;
  /** use fs.watch as well as polling (default true) */
  watch?: boolean;
}

export type ReloadOutcome = 'reloaded' | 'unchanged' | 'failed';

/**
 * Watches a certificate and key and swaps them into a running server (`setSecureContext`):
 * new connections get the new certificate, open ones keep theirs. A file that does not parse, or a
 * key that does not match the certificate (one of the pair rewritten, the other not yet), keeps
 * the current certificate and is logged; the next change is tried again.
 */
export class CertificateReloader {
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly useWatch: boolean;
  private watchers: FSWatcher[] = [];
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private seen = '';
  private running: Promise<ReloadOutcome> = Promise.resolve('unchanged');
  private stopped = false;

  constructor(
    private readonly server: Pick<TlsServer, 'setSecureContext'>,
    private readonly certFile: string,
    private readonly keyFile: string,
    private current: KeyPair,
    private readonly log: Logger,
    opts: ReloaderOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 250;
    this.pollMs = opts.pollMs ?? 5000;
    this.useWatch = opts.watch ?? true;
  }

  /** The certificate being served. */
  get certificate(): CertificateInfo {
    return this.current.info;
  }

  start(): void {
    this.stopped = false;
    const names = new Set([basename(this.certFile), basename(this.keyFile)]);
    for (const dir of this.useWatch ? new Set([dirname(this.certFile), dirname(this.keyFile)]) : []) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, file) => {
          // Kubernetes secrets swap a `..data` symlink; anything unnamed may be ours too.
          if (file === null || names.has(file.toString()) || file.toString().startsWith('..')) this.schedule();
        });
        watcher.on('error', (err) => {
          this.log.warn({ err, dir }, 'stopped watching TLS files; still checking them every few seconds');
          watcher.close();
        });
        this.watchers.push(watcher);
      } catch (err) {
        this.log.warn({ err, dir }, 'cannot watch TLS files; checking them every few seconds instead');
      }
    }
    void this.signature().then((s) => (this.seen = s));
    // The files may have changed between loading them and listening.
    this.schedule();
    this.poller = setInterval(() => {
      void this.signature().then((s) => {
        if (s !== this.seen) {
          this.seen = s;
          this.schedule();
        }
      });
    }, this.pollMs);
    this.poller.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    clearInterval(this.poller);
    clearTimeout(this.debounce);
  }

  /** Reads the files now and swaps them in if they changed and are good. Calls never overlap. */
  reload(): Promise<ReloadOutcome> {
    this.running = this.running.then(() => this.reloadOnce());
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.debounceMs);
    this.debounce.unref();
  }

  private async reloadOnce(): Promise<ReloadOutcome> {
    let next: KeyPair;
    try {
      next = await loadKeyPair(this.certFile, this.keyFile);
    } catch (err) {
      if (err instanceof TlsFileError && err.mismatch) {
        this.log.warn({ reason: err.message }, 'TLS certificate and key do not match (yet?): still serving the current certificate');
      } else {
        this.log.error({ reason: (err as Error).message }, 'cannot load the changed TLS certificate: still serving the current one');
      }
      return 'failed';
    }
    if (next.hash === this.current.hash) return 'unchanged';
    try {
      this.server.setSecureContext({ ...BASE_TLS, cert: next.cert, key: next.key });
    } catch (err) {
      this.log.error({ reason: (err as Error).message }, 'cannot use the changed TLS certificate: still serving the current one');
      return 'failed';
    }
    this.current = next;
    logCertificate(this.log, next.info, 'TLS certificate reloaded');
    return 'reloaded';
  }

  private async signature(): Promise<string> {
    const one = async (path: string) => {
      try {
        const s = await stat(path);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch {
        return 'missing';
      }
    };
    return `${await one(this.certFile)}|${await one(this.keyFile)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The HTTPS server

/**
 * An HTTP/2 server with TLS that also speaks HTTP/1.1 (ALPN picks; clients without ALPN get 1.1),
 * set up like Fastify's own servers (no request timeout, 72 s keep-alive and HTTP/2 session idle
 * timeout), plus what Fastify and Wharf's shutdown expect of a server that node:http2 lacks:
 * `closeIdleConnections` also closes HTTP/2 sessions gracefully (GOAWAY; streams in flight finish),
 * and `closeAllConnections` ends everything. Starts the reloader when it listens, stops it on close.
 */
function tlsServerFactory(pair: KeyPair, files: { certFile: string; keyFile: string }, log: Logger, reload: ReloaderOptions): FastifyServerFactory {
  const factory = (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) => {
    const server = http2.createSecureServer({ ...BASE_TLS, cert: pair.cert, key: pair.key, allowHTTP1: true }, handler as never);
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
      session.setTimeout(72_000, () => session.close());
    });
    server.on('tlsClientError', (err) => log.debug({ reason: err.message }, 'TLS handshake failed'));
    // HTTP/1.1 on this server goes through node:http's connection handling, which reads these.
    Object.assign(server, { requestTimeout: 0, keepAliveTimeout: 72_000 });
    server.setTimeout(0);
    const native = server as unknown as { closeIdleConnections?: () => void };
    const closeIdleHttp1 = native.closeIdleConnections?.bind(server) ?? (() => undefined);
    Object.assign(server, {
      closeIdleConnections() {
        closeIdleHttp1();
        for (const session of sessions) session.close();
      },
      closeAllConnections() {
        (http.Server.prototype.closeAllConnections as (this: unknown) => void).call(server);
        for (const session of sessions) session.destroy();
      },
    });

    const reloader = new CertificateReloader(server, files.certFile, files.keyFile, pair, log, reload);
    server.once('listening', () => reloader.start());
    server.once('close', () => reloader.stop());
    logCertificate(log, pair.info, 'TLS certificate loaded (HTTPS with HTTP/2 and HTTP/1.1)');
    // Fastify's types know one server type per instance; the request handler serves both protocols
    // the way Fastify's own `http2: true, https: { allowHTTP1: true }` server does.
    return server as unknown as http.Server;
  };
  return factory as FastifyServerFactory;
}

export interface Transport {
  /** Whether the server speaks TLS. */
  tls: boolean;
  /** Spread into Fastify's options. */
  fastifyOptions: { serverFactory?: FastifyServerFactory; trustProxy?: boolean | string[] };
}

/** The certificate and key files to serve: the configured ones, or the trial ones under <dataDir>/tls. */
export function tlsFiles(config: Config): { certFile: string; keyFile: string } | undefined {
  if (config.tlsCert && config.tlsKey) return { certFile: config.tlsCert, keyFile: config.tlsKey };
  if (config.tlsSelfSigned) return { certFile: join(config.dataDir, 'tls', 'cert.pem'), keyFile: join(config.dataDir, 'tls', 'key.pem') };
  return undefined;
}

/**
 * Once per machine before serving (the cluster primary when there are workers): with
 * tlsSelfSigned, makes or reuses the trial CA and certificate and prints how to trust them.
 */
export async function prepareTls(config: Config, print: (text: string) => void = (t) => process.stderr.write(t)): Promise<void> {
  if (!config.tlsSelfSigned) return;
  const { ensureSelfSigned, trustInstructions } = await import('./tls-self-signed.js');
  const result = await ensureSelfSigned(config.dataDir, config.tlsSelfSigned);
  print(trustInstructions(result, config.listen.port));
}

export interface PrepareTransportOptions {
  /** run prepareTls here (false in a cluster worker: the primary did it) */
  prepare?: boolean;
  reload?: ReloaderOptions;
}

/** Fastify options for the configured transport; throws TlsFileError when the files are unusable. */
export async function prepareTransport(config: Config, log: Logger, opts: PrepareTransportOptions = {}): Promise<Transport> {
  const trust = config.trustProxy === false ? {} : { trustProxy: config.trustProxy };
  if (opts.prepare ?? true) await prepareTls(config);
  const files = tlsFiles(config);
  if (!files) return { tls: false, fastifyOptions: trust };
  const pair = await loadKeyPair(files.certFile, files.keyFile);
  // `https` only makes Fastify say https:// in its listening message and listeningOrigin; the server is the factory's.
  const https = { https: { allowHTTP1: true } } as object;
  return { tls: true, fastifyOptions: { ...trust, ...https, serverFactory: tlsServerFactory(pair, files, log, opts.reload ?? {}) } };
}

// ---------------------------------------------------------------------------------------------
// Credentials over plain HTTP

/**
 * Whether the request reached Wharf over TLS: directly, or through a trusted proxy that says
 * `X-Forwarded-Proto: https` (the trustProxy setting). What `aws:SecureTransport` means.
 */
export function isSecureRequest(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x (::ffff:127.0.0.1). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
  return isIPv4(v4) && v4.startsWith('127.');
}

export interface InsecureCredentialsOptions {
  allowInsecureCredentials: boolean;
}

const REFUSED =
  'credentials over plain HTTP are refused: connect with HTTPS (the server needs --tls-cert/--tls-key), ' +
  'or set allowInsecureCredentials (WHARF_ALLOW_INSECURE_CREDENTIALS=true) to accept them';

/**
 * Answers 400 to a request that carries an Authorization header over plain HTTP from anywhere but
 * this machine, before anything reads it: the secret has already crossed the network in clear, and
 * answering makes the client's operator find out. Loopback clients are always allowed. Registered
 * at the root (not encapsulated), so it guards every route.
 */
async function guardCredentials(app: FastifyInstance, opts: InsecureCredentialsOptions): Promise<void> {
  if (opts.allowInsecureCredentials) return;
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers.authorization === undefined || isSecureRequest(req) || isLoopbackAddress(req.ip)) return;
    req.log.warn({ remote: req.ip, url: req.url }, 'refused credentials sent over plain HTTP');
    // Do not read (or wait for) the body of a refused request.
    if (req.raw.httpVersionMajor === 1) reply.header('connection', 'close');
    // Each surface in its own error format, so its clients show the message.
    if (req.headers['x-amz-target'] !== undefined) {
      return reply
        .code(400)
        .header('content-type', 'application/x-amz-json-1.1')
        .header('x-amzn-errortype', 'AccessDeniedException')
        .send(JSON.stringify({ __type: 'AccessDeniedException', message: REFUSED }));
    }
    const body = /^\/v2(\/|$|\?)/.test(req.url) ? { errors: [{ code: 'DENIED', message: REFUSED }] } : { error: 'INSECURE_CREDENTIALS', message: REFUSED };
    return reply.code(400).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  });
}

export const insecureCredentialsGuard: FastifyPluginAsync<InsecureCredentialsOptions> = Object.assign(guardCredentials, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'wharf-insecure-credentials',
});

// A certificate authority and a server certificate for trials (`wharf serve --tls-self-signed HOST`),
// kept under <data dir>/tls/ and reused while valid. X.509 encoding is @peculiar/x509's; every key and
// signature comes from Node's own WebCrypto (OpenSSL). tsyringe, which @peculiar/x509 uses inside,
// needs the reflect-metadata polyfill, so this module is only loaded when a certificate is made.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

/** ECDSA P-256 with SHA-256: small keys, fast handshakes, accepted by every client (Go, OpenSSL, browsers). */
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** The names a trial certificate always carries besides HOST, so local clients can reach it too. */
export const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'] as const;

export interface PemPair {
  /** PEM certificate */
  cert: string;
  /** PEM private key (PKCS#8) */
  key: string;
}

export interface CreateOptions {
  /** Validity in days from `now` (CA default 5 years, server certificate default 1 year). */
  days?: number;
  now?: Date;
  /** Hex serial number; random (positive, 128 bits) by default. */
  serialNumber?: string;
}

/** A new self-signed CA that may sign server certificates only (pathLen 0). */
export async function createCa(commonName: string, opts: CreateOptions = {}): Promise<PemPair> {
  const now = opts.now ?? new Date();
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const name: x509.JsonName = [{ CN: [commonName] }, { O: ['Wharf'] }];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: opts.serialNumber ?? randomSerial(),
    subject: name,
    issuer: name,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + (opts.days ?? 5 * 365) * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await exportKey(keys.privateKey) };
}

/** A server certificate for `hosts` (DNS names or IP addresses; the first is the subject's CN), signed by `ca`. */
export async function issueServerCertificate(ca: PemPair, hosts: string[], opts: CreateOptions = {}): Promise<PemPair> {
  if (hosts.length === 0) throw new Error('a server certificate needs at least one host name');
  const now = opts.now ?? new Date();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await crypto.subtle.importKey('pkcs8', pkcs8Der(ca.key), ALGORITHM, false, ['sign']);
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const names = [...new Set(hosts)].map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: opts.serialNumber ?? randomSerial(),
    subject: [{ CN: [hosts[0]!] }],
    issuer: caCert.subjectName,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter: new Date(now.getTime() + (opts.days ?? 365) * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: await exportKey(keys.privateKey) };
}

export interface SelfSignedFiles {
  dir: string;
  /** the CA certificate clients must trust */
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
}

export interface EnsureResult {
  files: SelfSignedFiles;
  /** what was done: all four files made, only the server certificate re-issued (the CA kept), or nothing */
  created: 'all' | 'certificate' | 'none';
  /** the server certificate's expiry */
  validTo: Date;
  /** the names in the server certificate */
  hosts: string[];
}

export function selfSignedFiles(dataDir: string): SelfSignedFiles {
  const dir = join(dataDir, 'tls');
  return { dir, caFile: join(dir, 'ca.pem'), caKeyFile: join(dir, 'ca-key.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
}

/** A server certificate is re-issued when it has less than this left. */
const RENEW_BEFORE_MS = 7 * DAY_MS;

/**
 * Makes sure <dataDir>/tls holds a CA (ca.pem, ca-key.pem) and a server certificate for `host`
 * (cert.pem, key.pem) that it signed. Reuses what is there when it is valid and names `host`;
 * when only the server certificate is unusable (expiring, another host), re-issues it from the
 * existing CA, so clients that already trust the CA keep working. Keys are written with mode 0600.
 */
export async function ensureSelfSigned(dataDir: string, host: string, now = new Date()): Promise<EnsureResult> {
  const files = selfSignedFiles(dataDir);
  const hosts = [host, ...LOCAL_NAMES.filter((n) => n !== host)];
  await mkdir(files.dir, { recursive: true, mode: 0o700 });

  let ca = await readUsableCa(files, now);
  let created: EnsureResult['created'] = 'none';
  if (!ca) {
    ca = await createCa(`Wharf trial CA ${randomBytes(4).toString('hex')}`, { now });
    await writeAtomic(files.caKeyFile, ca.key, 0o600);
    await writeAtomic(files.caFile, ca.cert, 0o644);
    created = 'all';
  }
  let leaf = created === 'none' ? await readUsableLeaf(files, ca, hosts, now) : undefined;
  if (!leaf) {
    const issued = await issueServerCertificate(ca, hosts, { now });
    await writeAtomic(files.keyFile, issued.key, 0o600);
    await writeAtomic(files.certFile, issued.cert, 0o644);
    leaf = new X509Certificate(issued.cert);
    if (created === 'none') created = 'certificate';
  }
  return { files, created, validTo: new Date(leaf.validTo), hosts };
}

/** What to tell a person about trusting the trial CA (printed once at start-up). */
export function trustInstructions(result: EnsureResult, port: number): string {
  const { files } = result;
  const host = result.hosts[0]!;
  const hostPort = `${isIP(host) === 6 ? `[${host}]` : host}:${port || 'PORT'}`;
  const what =
    result.created === 'all'
      ? `created a certificate authority for trials and a server certificate`
      : result.created === 'certificate'
        ? `issued a new server certificate from the existing trial certificate authority`
        : `using the trial certificate authority and server certificate`;
  return [
    `wharf: TLS: ${what} in ${files.dir}`,
    `  The server certificate names ${result.hosts.join(', ')} and is valid until ${result.validTo.toISOString()}.`,
    `  Clients must trust the CA certificate ${files.caFile}:`,
    `    docker:        mkdir -p /etc/docker/certs.d/${hostPort} && cp ${files.caFile} /etc/docker/certs.d/${hostPort}/ca.crt`,
    `    podman, skopeo, buildah:`,
    `                   mkdir -p /etc/containers/certs.d/${hostPort} && cp ${files.caFile} /etc/containers/certs.d/${hostPort}/ca.crt`,
    `                   (or per command: a directory holding it as ca.crt, with --cert-dir DIR, or skopeo --src-cert-dir/--dest-cert-dir DIR)`,
    `    curl:          curl --cacert ${files.caFile} https://${hostPort}/v2/`,
    `  This is for trials: in production give --tls-cert and --tls-key a certificate from your own CA.`,
    '',
  ].join('\n');
}

async function readUsableCa(files: SelfSignedFiles, now: Date): Promise<PemPair | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(files.caFile, 'utf8'), readFile(files.caKeyFile, 'utf8')]);
    const x = new X509Certificate(cert);
    // The CA must outlive any certificate it would sign now.
    const usable = x.ca && x.checkPrivateKey(createPrivateKey(key)) && new Date(x.validTo).getTime() - now.getTime() > 366 * DAY_MS;
    return usable ? { cert, key } : undefined;
  } catch {
    return undefined;
  }
}

async function readUsableLeaf(files: SelfSignedFiles, ca: PemPair, hosts: string[], now: Date): Promise<X509Certificate | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
    const x = new X509Certificate(cert);
    const caCert = new X509Certificate(ca.cert);
    const usable =
      x.checkIssued(caCert) &&
      x.verify(caCert.publicKey) &&
      x.checkPrivateKey(createPrivateKey(key)) &&
      hosts.every((h) => (isIP(h) ? x.checkIP(h) : x.checkHost(h, { wildcards: false, subject: 'never' })) !== undefined) &&
      new Date(x.validFrom).getTime() <= now.getTime() &&
      new Date(x.validTo).getTime() - now.getTime() > RENEW_BEFORE_MS;
    return usable ? x : undefined;
  } catch {
    return undefined;
  }
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode); // whatever the umask
  await rename(tmp, path);
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

function pkcs8Der(pem: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' }));
}

/** 16 random bytes, first bit clear (a positive INTEGER) and first byte non-zero (minimal encoding). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

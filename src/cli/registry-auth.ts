// The client side of signing in to a Wharf registry, shared by `wharf login` and
// `docker-credential-wharf`: server addresses, checking credentials, exchanging an access key
// for an authorization token, and the private JSON files credentials live in.
// Kept free of server and database imports: the credential helper starts on every docker pull.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export class RegistryAuthError extends Error {
  override name = 'RegistryAuthError';
}

export interface ServerAddress {
  /** host[:port], lower-case: the key in docker's `auths`/`credHelpers` and in our credentials file */
  key: string;
  /** scheme://host[:port], where requests go */
  base: string;
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * A registry as users and docker name it: `host:port`, or a URL. An explicit scheme is kept;
 * a bare host means https, except loopback addresses (http, as docker treats them); with
 * WHARF_INSECURE=1, http always.
 */
export function parseServer(input: string, env: NodeJS.ProcessEnv = process.env): ServerAddress {
  const text = input.trim();
  if (text === '') throw new RegistryAuthError('no registry given');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(withScheme ? text : `https://${text}`);
  } catch {
    throw new RegistryAuthError(`"${text.slice(0, 200)}" is not a registry address: use HOST[:PORT] or https://HOST[:PORT]`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RegistryAuthError(`unsupported scheme ${url.protocol} in ${text}: use http or https`);
  if (url.username || url.password) throw new RegistryAuthError('put credentials in flags or stdin, not in the registry address');
  const key = url.host.toLowerCase();
  const insecure = env.WHARF_INSECURE === '1' || env.WHARF_INSECURE === 'true';
  const scheme = insecure ? 'http' : withScheme ? url.protocol.slice(0, -1) : isLoopback(url.hostname) ? 'http' : 'https';
  return { key, base: `${scheme}://${key}` };
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new RegistryAuthError(`cannot reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
}

function failure(res: Response, base: string, who: string): RegistryAuthError {
  if (res.status === 401) return new RegistryAuthError(`${base} rejected the credentials of ${who}: invalid credentials, or an inactive or deleted access key`);
  if (res.status === 429) return new RegistryAuthError(`${base} refused ${who} for now after too many failed sign-ins: try again in a few minutes`);
  if (res.status === 404) return new RegistryAuthError(`${base} has no token endpoint (/v2/token): is it a Wharf registry with auth: iam?`);
  return new RegistryAuthError(`${base}/v2/token answered HTTP ${res.status} for ${who}`);
}

/** Checks credentials the way clients do: GET /v2/token with Basic; 200 means they work. */
export async function verifyCredentials(server: ServerAddress, username: string, password: string): Promise<void> {
  const res = await request(`${server.base}/v2/token?service=wharf`, { headers: { authorization: basic(username, password) } });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status !== 200) throw failure(res, server.base, username);
}

export interface AuthorizationToken {
  token: string;
  expiresAt: Date;
}

/**
 * Exchanges an access key for a 12-hour authorization token (the `refresh_token` of the OAuth2
 * password grant with access_type=offline), to be presented as password with user `AWS`.
 */
export async function fetchAuthorizationToken(server: ServerAddress, accessKeyId: string, secret: string): Promise<AuthorizationToken> {
  const body = new URLSearchParams({ grant_type: 'password', username: accessKeyId, password: secret, access_type: 'offline', service: 'wharf', client_id: 'docker-credential-wharf' });
  const res = await request(`${server.base}/v2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
  if (res.status !== 200) {
    await res.arrayBuffer().catch(() => undefined);
    throw failure(res, server.base, `access key ${accessKeyId}`);
  }
  const json = (await res.json().catch(() => ({}))) as { refresh_token?: unknown };
  if (typeof json.refresh_token !== 'string' || json.refresh_token === '') {
    throw new RegistryAuthError(`${server.base}/v2/token issued no refresh_token: the registry does not issue authorization tokens`);
  }
  return { token: json.refresh_token, expiresAt: tokenExpiry(json.refresh_token) };
}

/** The `exp` of a JWT (not verified: the registry checks it); 12 hours from now when unreadable. */
export function tokenExpiry(token: string, now = Date.now()): Date {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    if (typeof payload.exp === 'number' && Number.isFinite(payload.exp)) return new Date(payload.exp * 1000);
  } catch {
    // fall through
  }
  return new Date(now + 12 * 3600 * 1000);
}

// ---------------------------------------------------------------------------------------------
// private JSON files

/** A JSON object from a file; {} when the file does not exist. */
export async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RegistryAuthError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RegistryAuthError(`${path} is not valid JSON (${(err as Error).message}); fix or remove it`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RegistryAuthError(`${path} does not hold a JSON object; fix or remove it`);
  return value as Record<string, unknown>;
}

/** Writes JSON readable by its owner only (0600), atomically (temp file + rename). */
export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, `${JSON.stringify(value, null, '\t')}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function objectAt(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  parent[key] = fresh;
  return fresh;
}

// ---------------------------------------------------------------------------------------------
// the credential helper's store

/** Where docker-credential-wharf keeps access keys: $WHARF_CREDENTIALS_FILE, else ~/.config/wharf/credentials.json. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WHARF_CREDENTIALS_FILE) return env.WHARF_CREDENTIALS_FILE;
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(configHome, 'wharf', 'credentials.json');
}

export interface StoredCredential {
  /** As docker gave it */
  serverURL: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The cached authorization token and when it expires */
  token?: string;
  tokenExpiresAt?: string;
}

export interface CredentialStore {
  version: 1;
  registries: Record<string, StoredCredential>;
}

export async function readCredentialStore(path: string): Promise<CredentialStore> {
  const raw = await readJsonObject(path);
  const registries: Record<string, StoredCredential> = {};
  const given = raw.registries;
  if (typeof given === 'object' && given !== null) {
    for (const [key, v] of Object.entries(given as Record<string, unknown>)) {
      const c = v as Partial<StoredCredential> | null;
      if (c && typeof c.accessKeyId === 'string' && typeof c.secretAccessKey === 'string') {
        registries[key] = {
          serverURL: typeof c.serverURL === 'string' ? c.serverURL : key,
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          ...(typeof c.token === 'string' && typeof c.tokenExpiresAt === 'string' ? { token: c.token, tokenExpiresAt: c.tokenExpiresAt } : {}),
        };
      }
    }
  }
  return { version: 1, registries };
}

export async function writeCredentialStore(path: string, store: CredentialStore): Promise<void> {
  await writePrivateJson(path, store);
}

/** Saves an access key for a registry (dropping any token cached for the previous one). */
export async function storeAccessKey(path: string, serverURL: string, accessKeyId: string, secretAccessKey: string): Promise<void> {
  const server = parseServer(serverURL, {});
  const store = await readCredentialStore(path);
  store.registries[server.key] = { serverURL, accessKeyId, secretAccessKey };
  await writeCredentialStore(path, store);
}

import { randomUUID } from 'node:crypto';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type { MetadataStore } from '../metadata/store.js';
import type { MasterKey } from './secrets.js';

/** A Docker token-auth access entry: `repository:<name>:pull,push`. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

const ALG = 'ES256';
const ISSUER = 'wharf';
const AUTHORIZATION_AUDIENCE = 'wharf:authorization-token';
/** Registry bearer tokens are short: every request is authorized again against live policies anyway. */
export const REGISTRY_TOKEN_TTL_SECONDS = 300;
/** ECR's GetAuthorizationToken lifetime. */
export const AUTHORIZATION_TOKEN_TTL_SECONDS = 12 * 3600;

/**
 * Signs and verifies the registry's JWTs with one ES256 key pair, created on first start
 * and kept in the settings table encrypted under the master key, so every node signs and
 * verifies with the same key.
 */
export class TokenService {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    readonly keyId: string,
    readonly service: string,
  ) {}

  static async load(metadata: MetadataStore, master: MasterKey, service: string): Promise<TokenService> {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
    const candidate = JSON.stringify({
      kid: randomUUID(),
      privateKey: master.encrypt(await exportPKCS8(privateKey)),
      publicKey: await exportSPKI(publicKey),
    });
    // The first process to start wins; everyone else uses its key.
    const stored = JSON.parse(await metadata.initSetting('jwt_signing_key', candidate)) as { kid: string; privateKey: string; publicKey: string };
    let pkcs8: string;
    try {
      pkcs8 = master.decrypt(stored.privateKey);
    } catch {
      throw new Error(
        'cannot decrypt the registry signing key: this node has a different master key from the node that set up the database; ' +
          'give every node the same key file (WHARF_MASTER_KEY_FILE)',
      );
    }
    return new TokenService(
      await importPKCS8(pkcs8, ALG),
      await importSPKI(stored.publicKey, ALG),
      stored.kid,
      service,
    );
  }

  async issueRegistryToken(subject: string, access: AccessEntry[]): Promise<{ token: string; expiresIn: number; issuedAt: string }> {
    const issuedAt = new Date();
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: ALG, kid: this.keyId, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(this.service)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt(Math.floor(issuedAt.getTime() / 1000))
      .setNotBefore(Math.floor(issuedAt.getTime() / 1000) - 5)
      .setExpirationTime(Math.floor(issuedAt.getTime() / 1000) + REGISTRY_TOKEN_TTL_SECONDS)
      .sign(this.privateKey);
    return { token, expiresIn: REGISTRY_TOKEN_TTL_SECONDS, issuedAt: issuedAt.toISOString() };
  }

  /** Throws when the token is forged, expired, or for another audience. */
  async verifyRegistryToken(token: string): Promise<{ subject: string; access: AccessEntry[] }> {
    const { payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience: this.service, algorithms: [ALG] });
    return { subject: requireSubject(payload), access: parseAccess(payload.access) };
  }

  /** The ECR GetAuthorizationToken token: a 12-hour credential presented as password with user `AWS`. */
  async issueAuthorizationToken(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALG, kid: this.keyId, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUTHORIZATION_AUDIENCE)
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + AUTHORIZATION_TOKEN_TTL_SECONDS)
      .sign(this.privateKey);
    return { token, expiresAt: new Date((now + AUTHORIZATION_TOKEN_TTL_SECONDS) * 1000) };
  }

  async verifyAuthorizationToken(token: string): Promise<string> {
    const { payload } = await jwtVerify(token, this.publicKey, { issuer: ISSUER, audience: AUTHORIZATION_AUDIENCE, algorithms: [ALG] });
    return requireSubject(payload);
  }
}

function requireSubject(payload: JWTPayload): string {
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new Error('token has no subject');
  return payload.sub;
}

function parseAccess(value: unknown): AccessEntry[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (e): e is AccessEntry =>
      typeof e === 'object' && e !== null && typeof e.type === 'string' && typeof e.name === 'string' && Array.isArray(e.actions) && e.actions.every((a: unknown) => typeof a === 'string'),
  );
}

/** Parses Docker scope strings: `repository:team/app:pull,push`, `registry:catalog:*`. */
export function parseScopes(scopes: string[]): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const scope of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last <= first) continue;
    const type = scope.slice(0, first);
    // A repository name may not contain ':', but `repository(plugin)` style types may carry a class.
    const name = scope.slice(first + 1, last);
    const actions = scope
      .slice(last + 1)
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    out.push({ type: type.replace(/\(.*\)$/, ''), name, actions });
  }
  return out;
}

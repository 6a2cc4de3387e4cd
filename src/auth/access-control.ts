import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { IdentityStore } from '../metadata/identity-store.js';
import type { User } from '../metadata/schema.js';
import { evaluate, parsePolicy, type Policy } from './policy/index.js';
import { LoginThrottle } from './throttle.js';
import { TtlCache } from './ttl-cache.js';
import { safeEqual, verifyPassword, type MasterKey } from './secrets.js';
import type { TokenService } from './tokens.js';

export interface Account {
  accountId: string;
  region: string;
}

export interface Principal {
  kind: 'user' | 'anonymous';
  userId: string | null;
  username: string | null;
  arn: string;
  accountId: string;
  tags: Record<string, string>;
  /** How the caller proved who it is: password, access-key, authorization-token, bearer, none. */
  via: string;
}

export interface RequestContext {
  sourceIp: string;
  secureTransport: boolean;
}

export type Decision = { allowed: true } | { allowed: false; reason: 'explicit-deny' | 'implicit-deny' | 'anonymous' };

/** Actions an anonymous caller may be granted, and only on a public repository: reading. */
export const ANONYMOUS_ACTIONS: ReadonlySet<string> = new Set([
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:ListImages',
  'ecr:DescribeImages',
  'ecr:DescribeRepositories',
  'ecr:ListImageReferrers',
]);

export class AuthenticationError extends Error {
  constructor(
    message: string,
    readonly throttled = false,
  ) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

const ACCESS_KEY_ID = /^AKIA[A-Z2-7]{16}$/;
const CACHE_MS = 5000;
const SIGN_IN_CACHE_MS = 60_000;

interface Cached<T> {
  value: T;
  until: number;
}

/**
 * Who is calling (authentication: passwords, access keys, authorization tokens) and
 * what they may do (authorization: IAM policy evaluation over identity, repository and
 * registry policies). Shared by every surface, so /v2 and the ECR API decide alike.
 */
export class AccessControl {
  private readonly throttle = new LoginThrottle();
  private readonly policyCache = new TtlCache<string, Policy[]>(CACHE_MS);
  // Keyed by whatever name a request carries, existing or not: bounded.
  private readonly repositoryCache = new TtlCache<string, RepositoryAccess | null>(CACHE_MS);
  private readonly keyTouched = new TtlCache<string, true>(300_000);
  private readonly signInCache = new TtlCache<string, Principal>(SIGN_IN_CACHE_MS);
  /** Users named by bearer tokens: a token is checked on every /v2 request, the user row need not be. */
  private readonly subjectCache = new TtlCache<string, Principal | null>(CACHE_MS);

  constructor(
    readonly identity: IdentityStore,
    readonly tokens: TokenService,
    private readonly master: MasterKey,
    readonly account: Account,
    private readonly log: Logger,
  ) {}

  userArn(name: string): string {
    return `arn:aws:iam::${this.account.accountId}:user/${name}`;
  }

  repositoryArn(name: string): string {
    return `arn:aws:ecr:${this.account.region}:${this.account.accountId}:repository/${name}`;
  }

  anonymous(): Principal {
    return { kind: 'anonymous', userId: null, username: null, arn: '*', accountId: '', tags: {}, via: 'none' };
  }

  principalOf(user: User, via: string): Principal {
    return {
      kind: 'user',
      userId: user.id,
      username: user.name,
      arn: this.userArn(user.name),
      accountId: this.account.accountId,
      tags: user.tags ? (JSON.parse(user.tags) as Record<string, string>) : {},
      via,
    };
  }

  /**
   * Basic credentials, in the three forms clients send: `AWS` + an authorization token
   * (docker login with `aws ecr get-login-password`), an access key id + secret, or a
   * user name + password. Failures are counted per identity and source address.
   */
  async authenticateBasic(username: string, password: string, sourceIp: string): Promise<Principal> {
    const throttleKey = `${username}|${sourceIp}`;
    if (this.throttle.isLocked(throttleKey)) {
      if (this.throttle.firstRejection(throttleKey)) await this.audit(username, 'Authenticate', 'failure', sourceIp, { reason: 'throttled' });
      throw new AuthenticationError('too many failed sign-in attempts; try again later', true);
    }
    const principal = await this.checkCredentials(username, password);
    if (!principal) {
      this.throttle.fail(throttleKey);
      await this.audit(username, 'Authenticate', 'failure', sourceIp, { reason: 'invalid credentials' });
      throw new AuthenticationError('invalid credentials');
    }
    this.throttle.succeed(throttleKey);
    return principal;
  }

  /**
   * SigV4 (the ECR API) signs with an access key; its failures count against the same
   * throttle as Basic sign-ins, keyed by access key id and source address. Returns true when
   * the key is locked (the caller answers ThrottlingException), auditing only the first
   * rejection of each lock.
   */
  async signatureLocked(accessKeyId: string | null, sourceIp: string): Promise<boolean> {
    const key = `${accessKeyId ?? '-'}|${sourceIp}`;
    if (!this.throttle.isLocked(key)) return false;
    if (this.throttle.firstRejection(key)) await this.audit(accessKeyId, 'Authenticate', 'failure', sourceIp, { reason: 'throttled', api: 'ecr' });
    return true;
  }

  async signatureFailed(accessKeyId: string | null, sourceIp: string, reason: string): Promise<void> {
    this.throttle.fail(`${accessKeyId ?? '-'}|${sourceIp}`);
    await this.audit(accessKeyId, 'Authenticate', 'failure', sourceIp, { reason, api: 'ecr' });
  }

  signatureSucceeded(accessKeyId: string, sourceIp: string): void {
    this.throttle.succeed(`${accessKeyId}|${sourceIp}`);
  }

  private async checkCredentials(username: string, password: string): Promise<Principal | null> {
    if (username === 'AWS') {
      try {
        const userId = await this.tokens.verifyAuthorizationToken(password);
        const user = await this.identity.getUserById(userId);
        return user ? this.principalOf(user, 'authorization-token') : null;
      } catch {
        return null;
      }
    }
    if (ACCESS_KEY_ID.test(username)) {
      const key = await this.identity.getAccessKey(username);
      if (!key || key.status !== 'Active') return null;
      if (!safeEqual(this.master.decrypt(key.secret_encrypted), password)) return null;
      const user = await this.identity.getUserById(key.user_id);
      if (!user) return null;
      this.noteKeyUse(key.id);
      return this.principalOf(user, 'access-key');
    }
    // scrypt costs tens of milliseconds by design; a client sending the same password on
    // every request pays it once a minute, keyed by a hash of the pair, never the secret.
    const cacheKey = createHash('sha256').update(`${username}\u0000${password}`).digest('base64');
    const cached = this.signInCache.get(cacheKey);
    if (cached) return cached;
    const user = await this.identity.getUserByName(username);
    if (!user?.password_hash) {
      // Spend the same time as a real check, so timing does not reveal which users exist.
      await verifyPassword(password, DUMMY_HASH);
      return null;
    }
    if (!(await verifyPassword(password, user.password_hash))) return null;
    const principal = this.principalOf(user, 'password');
    this.signInCache.set(cacheKey, principal);
    return principal;
  }

  /** Checks an access key pair (the ECR API's SigV4 will use the secret directly). */
  async secretForAccessKey(accessKeyId: string): Promise<{ secret: string; user: User } | null> {
    const key = await this.identity.getAccessKey(accessKeyId);
    if (!key || key.status !== 'Active') return null;
    const user = await this.identity.getUserById(key.user_id);
    if (!user) return null;
    this.noteKeyUse(key.id);
    return { secret: this.master.decrypt(key.secret_encrypted), user };
  }

  /** Records last use at most every five minutes per key and process. */
  private noteKeyUse(id: string): void {
    const now = Date.now();
    if (this.keyTouched.get(id, now)) return;
    this.keyTouched.set(id, true, now);
    this.identity.touchAccessKey(id, new Date(now).toISOString()).catch((err: unknown) => this.log.warn({ err }, 'could not record access key use'));
  }

  /** The principal a registry bearer token names; null when that user no longer exists. */
  async principalForSubject(subject: string): Promise<Principal | null> {
    if (subject === 'anonymous') return this.anonymous();
    const cached = this.subjectCache.get(subject);
    if (cached !== undefined) return cached;
    const user = await this.identity.getUserById(subject);
    const principal = user ? this.principalOf(user, 'bearer') : null;
    this.subjectCache.set(subject, principal);
    return principal;
  }

  /**
   * AWS's evaluation: an explicit Deny anywhere wins; otherwise an Allow from an identity
   * policy, the repository policy or the registry policy grants; otherwise deny. Anonymous
   * callers get only read actions, only on public repositories, and a policy can still deny them.
   */
  async decide(principal: Principal, action: string, repository: string | null, ctx: RequestContext): Promise<Decision> {
    const repo = repository === null ? null : await this.repositoryAccess(repository);
    // Registry-wide actions (GetAuthorizationToken, registry policy, ...) are on resource "*", as in AWS:
    // a grant on repository/* must not reach them.
    const resource = repository === null ? '*' : this.repositoryArn(repository);
    const identityPolicies = principal.kind === 'user' && principal.userId ? await this.identityPolicies(principal.userId) : [];
    const registryPolicy = await this.registryPolicy();
    const result = evaluate(
      {
        principal: {
          arn: principal.arn,
          accountId: principal.accountId,
          ...(principal.userId ? { userId: principal.userId } : {}),
          ...(principal.username ? { username: principal.username } : {}),
          tags: principal.tags,
          isAnonymous: principal.kind === 'anonymous',
        },
        action,
        resource,
        context: this.contextKeys(principal, ctx, repo),
      },
      {
        identityPolicies,
        ...(repo?.policy ? { resourcePolicy: repo.policy } : {}),
        ...(registryPolicy ? { registryPolicy } : {}),
      },
    );
    if (result.decision === 'ExplicitDeny') return { allowed: false, reason: 'explicit-deny' };
    if (principal.kind === 'anonymous') {
      // Only reading a public repository; never more, whatever a policy says.
      if (repo?.visibility === 'public' && ANONYMOUS_ACTIONS.has(action)) return { allowed: true };
      return { allowed: false, reason: 'anonymous' };
    }
    return result.decision === 'Allow' ? { allowed: true } : { allowed: false, reason: 'implicit-deny' };
  }

  private contextKeys(principal: Principal, ctx: RequestContext, repo: RepositoryAccess | null): Record<string, string | string[] | boolean | number | undefined> {
    const now = new Date();
    const keys: Record<string, string | string[] | boolean | number | undefined> = {
      'aws:SourceIp': ctx.sourceIp,
      'aws:SecureTransport': ctx.secureTransport,
      'aws:CurrentTime': now.toISOString(),
      'aws:EpochTime': Math.floor(now.getTime() / 1000),
      'aws:PrincipalType': principal.kind === 'anonymous' ? 'Anonymous' : 'User',
    };
    if (principal.kind === 'user') {
      keys['aws:PrincipalArn'] = principal.arn;
      keys['aws:PrincipalAccount'] = principal.accountId;
      keys['aws:username'] = principal.username ?? undefined;
      keys['aws:userid'] = principal.userId ?? undefined;
      for (const [k, v] of Object.entries(principal.tags)) keys[`aws:PrincipalTag/${k}`] = v;
    }
    for (const [k, v] of Object.entries(repo?.tags ?? {})) {
      keys[`ecr:ResourceTag/${k}`] = v;
      keys[`aws:ResourceTag/${k}`] = v;
    }
    return keys;
  }

  private async identityPolicies(userId: string): Promise<Policy[]> {
    const cached = this.policyCache.get(userId);
    if (cached) return cached;
    const rows = await this.identity.identityPolicies(userId);
    const value: Policy[] = [];
    for (const row of rows) {
      try {
        value.push(parsePolicy(row.document, 'identity'));
      } catch (err) {
        // Validated on write; an unreadable stored policy grants nothing.
        this.log.error({ err, source: row.source }, 'stored identity policy does not parse; ignoring it');
      }
    }
    this.policyCache.set(userId, value);
    return value;
  }

  private async repositoryAccess(name: string): Promise<RepositoryAccess | null> {
    const cached = this.repositoryCache.get(name);
    if (cached !== undefined) return cached;
    const row = await this.identity.repositoryAccess(name);
    let policy: Policy | undefined;
    if (row?.policy) {
      try {
        policy = parsePolicy(row.policy, 'resource');
      } catch (err) {
        this.log.error({ err, repository: name }, 'stored repository policy does not parse; ignoring it');
      }
    }
    const value = row
      ? { visibility: row.visibility, ...(policy ? { policy } : {}), tags: row.resource_tags ? (JSON.parse(row.resource_tags) as Record<string, string>) : {} }
      : null;
    this.repositoryCache.set(name, value);
    return value;
  }

  private registryPolicyCache: Cached<Policy | null> | undefined;

  private async registryPolicy(): Promise<Policy | null> {
    if (this.registryPolicyCache && this.registryPolicyCache.until > Date.now()) return this.registryPolicyCache.value;
    const text = await this.identity.getRegistryPolicy();
    let value: Policy | null = null;
    if (text) {
      try {
        value = parsePolicy(text, 'resource');
      } catch (err) {
        this.log.error({ err }, 'stored registry policy does not parse; ignoring it');
      }
    }
    this.registryPolicyCache = { value, until: Date.now() + CACHE_MS };
    return value;
  }

  /** Forget cached policies after a change made through this process. */
  invalidate(): void {
    this.signInCache.clear();
    this.policyCache.clear();
    this.repositoryCache.clear();
    this.subjectCache.clear();
    this.registryPolicyCache = undefined;
  }

  async audit(actor: string | null, action: string, outcome: 'success' | 'failure' | 'denied', sourceIp: string | null, detail?: unknown, resource?: string): Promise<void> {
    try {
      await this.identity.recordAudit({ actor, action, outcome, sourceIp, resource: resource ?? null, detail });
    } catch (err) {
      this.log.error({ err, action }, 'could not write audit event');
    }
  }
}

interface RepositoryAccess {
  visibility: 'private' | 'public';
  policy?: Policy;
  tags: Record<string, string>;
}

// A real scrypt hash of a random password, so unknown users cost the same as known ones.
const DUMMY_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$W1m6x0kJQe1sF2pQ8S6oK2m9nQ7Yt3Vb5Xc4Zr8Lk0A';

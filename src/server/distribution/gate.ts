import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError, type AccessControl, type Principal } from '../../auth/access-control.js';
import type { AccessEntry } from '../../auth/tokens.js';
import { RegistryError } from '../../registry/errors.js';
import { basicCredentials, bearerToken, externalBase, requestContext } from '../auth-http.js';
import { CATALOG_ACTION, MOUNT_SOURCE_ACTION, V2_ACTIONS, type DockerAction } from './actions.js';
import { matchV2, splitUrl, type V2Route } from './paths.js';

/** Who is calling and what their credentials allow; `scope: 'all'` for Basic and anonymous callers. */
export interface Caller {
  principal: Principal;
  scope: AccessEntry[] | 'all';
}

/**
 * Authorization for the /v2 surface: identifies the caller (bearer token from /v2/token,
 * Basic credentials, or nobody), then checks the token's scope and the live policies for
 * the ECR action the route maps to. Anything unmapped is denied.
 */
export class V2Gate {
  constructor(
    private readonly access: AccessControl,
    private readonly publicUrl: string | undefined,
  ) {}

  async identify(req: FastifyRequest, reply: FastifyReply): Promise<Caller> {
    const header = req.headers.authorization;
    // ECR's GetDownloadUrlForLayer hands out blob URLs carrying a registry token in `?token=`.
    const token = bearerToken(header) ?? (header === undefined ? blobUrlToken(req) : null);
    if (token) {
      try {
        const { subject, access } = await this.access.tokens.verifyRegistryToken(token);
        const principal = await this.access.principalForSubject(subject);
        if (principal) return { principal, scope: access };
      } catch {
        // fall through to the challenge
      }
      this.challenge(req, reply, undefined, 'invalid_token');
      throw new RegistryError('UNAUTHORIZED', 'the bearer token is invalid or expired');
    }
    const basic = basicCredentials(header);
    if (basic) {
      try {
        return { principal: await this.access.authenticateBasic(basic.username, basic.password, req.ip), scope: 'all' };
      } catch (err) {
        if (err instanceof AuthenticationError && err.throttled) throw new RegistryError('TOOMANYREQUESTS', err.message);
        this.challenge(req, reply);
        throw new RegistryError('UNAUTHORIZED', 'authentication required');
      }
    }
    return { principal: this.access.anonymous(), scope: 'all' };
  }

  /** Throws UNAUTHORIZED (with a challenge) or DENIED unless the caller may perform this route. */
  async authorize(req: FastifyRequest, reply: FastifyReply, route: V2Route, caller: Caller): Promise<void> {
    if (route.kind === 'base') {
      // The login probe: any verified caller passes; an anonymous one is asked to sign in.
      if (caller.principal.kind === 'anonymous' && !req.headers.authorization) {
        this.challenge(req, reply);
        throw new RegistryError('UNAUTHORIZED', 'authentication required');
      }
      return;
    }
    if (route.kind === 'catalog') {
      if (caller.principal.kind === 'anonymous') {
        this.challenge(req, reply, 'registry:catalog:*');
        throw new RegistryError('UNAUTHORIZED', 'authentication required');
      }
      return;
    }
    if (route.kind === 'unknown') return;
    const required = V2_ACTIONS[route.kind]?.[req.method];
    if (!required) {
      // Fail closed: a route nobody mapped to an action is denied.
      req.log.error({ route: route.kind, method: req.method }, 'no authorization mapping for this route; denying');
      throw new RegistryError('DENIED', 'requested access to the resource is denied');
    }
    const scopeText = `repository:${route.name}:${required.scopes.includes('pull') ? 'pull' : required.scopes[0]}`;
    if (!scopeAllows(caller.scope, route.name, required.scopes)) {
      this.challenge(req, reply, scopeText, 'insufficient_scope');
      throw new RegistryError('UNAUTHORIZED', 'the token does not grant this action', { scope: scopeText });
    }
    const decision = await this.access.decide(caller.principal, required.action, route.name, requestContext(req));
    if (decision.allowed) return;
    if (caller.principal.kind === 'anonymous') {
      this.challenge(req, reply, scopeText);
      throw new RegistryError('UNAUTHORIZED', 'authentication required');
    }
    await this.access.audit(caller.principal.arn, required.action, 'denied', req.ip, { reason: decision.reason }, this.access.repositoryArn(route.name));
    throw new RegistryError('DENIED', `${caller.principal.arn} is not authorized to perform ${required.action} on ${this.access.repositoryArn(route.name)}`);
  }

  /** For mount sources: clients name them in the query, and their token rarely covers them, so policy alone decides. */
  async mayRead(req: FastifyRequest, caller: Caller, repository: string): Promise<boolean> {
    return (await this.access.decide(caller.principal, MOUNT_SOURCE_ACTION, repository, requestContext(req))).allowed;
  }

  async mayList(req: FastifyRequest, caller: Caller, repository: string): Promise<boolean> {
    return (await this.access.decide(caller.principal, CATALOG_ACTION, repository, requestContext(req))).allowed;
  }

  private challenge(req: FastifyRequest, reply: FastifyReply, scope?: string, error?: string): void {
    const parts = [`realm="${externalBase(req, this.publicUrl)}/v2/token"`, `service="${this.access.tokens.service}"`];
    if (scope) parts.push(`scope="${scope}"`);
    if (error) parts.push(`error="${error}"`);
    reply.header('www-authenticate', `Bearer ${parts.join(',')}`);
  }
}

/** `?token=` on a blob GET or HEAD (and only there): the download URLs of the ECR API. */
function blobUrlToken(req: FastifyRequest): string | null {
  if (req.method !== 'GET' && req.method !== 'HEAD') return null;
  const { path, query } = splitUrl(req.raw.url ?? '/');
  const token = query.get('token');
  return token && matchV2(path).kind === 'blob' ? token : null;
}

function scopeAllows(scope: Caller['scope'], repository: string, anyOf: DockerAction[]): boolean {
  if (scope === 'all') return true;
  return scope.some((e) => e.type === 'repository' && e.name === repository && e.actions.some((a) => a === '*' || anyOf.includes(a as DockerAction)));
}

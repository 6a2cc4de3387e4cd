import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError, type AccessControl, type Principal } from '../../auth/access-control.js';
import { parseScopes, type AccessEntry } from '../../auth/tokens.js';
import { validateRepositoryName } from '../../registry/names.js';
import { basicCredentials, requestContext } from '../auth-http.js';
import { DOCKER_ACTION_MEANS, type DockerAction } from '../distribution/actions.js';

const DOCKER_ACTIONS: readonly DockerAction[] = ['pull', 'push', 'delete'];

/**
 * The Docker token endpoint (distribution's token authentication spec): GET with optional
 * Basic credentials, and the OAuth2 POST form (password and refresh_token grants) that
 * containerd and others use. A token carries only the actions the caller's policies allow
 * right now; each request is authorized again against live policies.
 */
export async function tokenRoutes(app: FastifyInstance, opts: { access: AccessControl }): Promise<void> {
  const { access } = opts;

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get('/v2/token', async (req, reply) => {
    const query = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1));
    const basic = basicCredentials(req.headers.authorization);
    let principal: Principal;
    try {
      principal = basic ? await access.authenticateBasic(basic.username, basic.password, req.ip) : access.anonymous();
    } catch (err) {
      return authFailure(reply, err);
    }
    const granted = await grant(req, principal, parseScopes(query.getAll('scope')));
    const issued = await access.tokens.issueRegistryToken(principal.userId ?? 'anonymous', granted);
    return reply.header('cache-control', 'no-store').send({
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
    });
  });

  app.post('/v2/token', async (req, reply) => {
    const form = (req.body ?? {}) as Record<string, string | undefined>;
    let principal: Principal;
    let refreshToken: string | undefined;
    try {
      if (form.grant_type === 'password') {
        principal = await access.authenticateBasic(form.username ?? '', form.password ?? '', req.ip);
        if (form.access_type === 'offline' && principal.userId) refreshToken = (await access.tokens.issueAuthorizationToken(principal.userId)).token;
      } else if (form.grant_type === 'refresh_token') {
        // A refresh token is an authorization token; checked like one.
        principal = await access.authenticateBasic('AWS', form.refresh_token ?? '', req.ip);
        refreshToken = form.refresh_token;
      } else {
        return reply.code(400).send({ error: 'unsupported_grant_type', error_description: 'grant_type must be password or refresh_token' });
      }
    } catch (err) {
      return authFailure(reply, err);
    }
    const granted = await grant(req, principal, parseScopes(form.scope ? [form.scope] : []));
    const issued = await access.tokens.issueRegistryToken(principal.userId ?? 'anonymous', granted);
    return reply.header('cache-control', 'no-store').send({
      access_token: issued.token,
      token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
  });

  /** The subset of requested actions the caller's policies allow; never more than asked. */
  async function grant(req: FastifyRequest, principal: Principal, requested: AccessEntry[]): Promise<AccessEntry[]> {
    const ctx = requestContext(req);
    const out: AccessEntry[] = [];
    for (const entry of requested) {
      if (entry.type === 'registry' && entry.name === 'catalog') {
        if (principal.kind === 'user') out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
        continue;
      }
      if (entry.type !== 'repository') continue;
      try {
        validateRepositoryName(entry.name);
      } catch {
        continue;
      }
      const wanted = entry.actions.includes('*') ? DOCKER_ACTIONS : DOCKER_ACTIONS.filter((a) => entry.actions.includes(a));
      const actions: string[] = [];
      for (const action of wanted) {
        for (const ecrAction of DOCKER_ACTION_MEANS[action]) {
          if ((await access.decide(principal, ecrAction, entry.name, ctx)).allowed) {
            actions.push(action);
            break;
          }
        }
      }
      out.push({ type: 'repository', name: entry.name, actions });
    }
    return out;
  }
}

function authFailure(reply: FastifyReply, err: unknown) {
  if (err instanceof AuthenticationError) {
    if (err.throttled) return reply.code(429).send({ errors: [{ code: 'TOOMANYREQUESTS', message: err.message }] });
    return reply
      .code(401)
      .header('www-authenticate', 'Basic realm="wharf"')
      .send({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required: invalid credentials' }] });
  }
  throw err;
}

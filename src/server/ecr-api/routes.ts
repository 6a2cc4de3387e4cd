import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl, Principal } from '../../auth/access-control.js';
import { verifySigV4 } from '../../auth/sigv4/index.js';
import { EcrApiError } from '../../ecr-api/errors.js';
import { MODEL, TARGET_PREFIX } from '../../ecr-api/model.js';
import { parseBody, validateInput } from '../../ecr-api/validate.js';
import type { User } from '../../metadata/schema.js';
import { ImageStore } from '../../metadata/image-store.js';
import { RegistryError } from '../../registry/errors.js';
import { Images } from '../../registry/images.js';
import { LifecycleRunner } from '../../lifecycle/run.js';
import { LifecycleService } from '../../lifecycle/service.js';
import type { Registry } from '../../registry/registry.js';
import { Repositories } from '../../registry/repositories.js';
import { externalBase, requestContext } from '../auth-http.js';
import { ecrErrorOf, sendEcrError } from './ecr-errors.js';
import { LATER_FEATURES, OPERATIONS, type EcrContext } from './operations.js';
import { PageTokens } from './page-tokens.js';

export interface EcrApiOptions {
  registry: Registry;
  /** Access control; absent with `auth: none`, where every call is answered with an explanation. */
  access?: AccessControl;
  publicUrl: string | undefined;
}

/** UploadLayerPart carries up to 20 MiB, base64-encoded in JSON: about 27 MiB. */
export const ECR_BODY_LIMIT = 30 * 1024 * 1024;

const JSON_TYPES = new Set(['application/x-amz-json-1.1', 'application/x-amz-json-1.0', 'application/json']);

const NEEDS_IAM =
  'The ECR API needs access control: this Wharf runs with auth: none, where there are no access keys to sign requests with. ' +
  'Start it with auth: iam (WHARF_AUTH=iam or --auth iam) and use an access key.';

/**
 * The ECR API on `POST /`: AWS JSON 1.1, `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Operation>`,
 * Signature V4 in the Authorization header. Per request: verify the signature (AWS's errors), take
 * the access key's user as the caller, dispatch on the target, validate the input against the ECR
 * model, authorize `ecr:<Operation>` on the repository (or registry-wide) with the same policies as
 * /v2, run the operation against the shared domain, answer JSON.
 */
export async function ecrApiRoutes(app: FastifyInstance, opts: EcrApiOptions): Promise<void> {
  // The signature covers the exact body bytes: keep them raw, parse JSON ourselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ECR_BODY_LIMIT }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    // Fastify's own refusals (body too large, malformed framing) before the handler ran.
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'ECR API request failed');
    const type = status === 413 ? 'ValidationException' : status === 500 ? 'ServerException' : 'SerializationException';
    const message = status === 413 ? `The request body is larger than ${ECR_BODY_LIMIT} bytes` : status === 500 ? 'An internal error occurred' : err.message;
    return sendEcrError(reply, new EcrApiError(type, message, status), req.id);
  });

  const { registry, access } = opts;
  if (!access) {
    app.post('/', { bodyLimit: ECR_BODY_LIMIT }, async (req, reply) => sendEcrError(reply, new EcrApiError('UnsupportedOperationException', NEEDS_IAM), req.id));
    return;
  }

  const store = new ImageStore(registry.metadata.connection);
  const registryId = access.account.accountId;
  const repositories = new Repositories(store, access.identity, registry, registryId);
  const images = new Images(store, registry, repositories);
  // Previews flush batched pull times first, so sinceImagePulled rules see the latest pulls.
  const lifecycle = new LifecycleService(repositories, new LifecycleRunner(registry.metadata.connection, () => registry.pulls.flush()));
  // The page-token signing key, shared by every node through the database.
  const pages = new PageTokens(Buffer.from(await registry.metadata.initSetting('ecr_page_token_key', randomBytes(32).toString('base64')), 'base64'));

  async function authenticate(req: FastifyRequest, body: Buffer): Promise<Principal> {
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    // Only a well-formed id is a throttle key: anything else cannot name a key anyway.
    const keyId = /Credential=([A-Z0-9]{16,128})\//.exec(req.headers.authorization ?? '')?.[1] ?? null;
    if (await access!.signatureLocked(keyId, req.ip)) throw new EcrApiError('ThrottlingException', 'Rate exceeded', 400);
    let user: User | undefined;
    const result = await verifySigV4(
      {
        method: req.method,
        path: q < 0 ? url : url.slice(0, q),
        query: q < 0 ? '' : url.slice(q + 1),
        headers: (req.raw as { headersDistinct?: Record<string, string[] | undefined> }).headersDistinct ?? req.headers,
        body,
      },
      {
        service: MODEL.metadata.signingName,
        // Any region is accepted: clients sign with whatever their profile says.
        async lookupSecret(accessKeyId) {
          const found = await access!.secretForAccessKey(accessKeyId);
          user = found?.user;
          return found?.secret ?? null;
        },
      },
    );
    if (!result.ok) {
      if (result.error.type === 'UnrecognizedClientException' || result.error.type === 'InvalidSignatureException') {
        await access!.signatureFailed(keyId, req.ip, result.error.type);
      }
      if (result.error.detail) req.log.debug({ detail: result.error.detail }, 'SigV4 verification failed');
      throw new EcrApiError(result.error.type, result.error.message, result.error.status);
    }
    if (!user) throw new EcrApiError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (keyId) access!.signatureSucceeded(keyId, req.ip);
    return access!.principalOf(user, 'access-key');
  }

  function operationOf(req: FastifyRequest): string {
    const target = req.headers['x-amz-target'];
    const name = typeof target === 'string' && target.startsWith(`${TARGET_PREFIX}.`) ? target.slice(TARGET_PREFIX.length + 1) : undefined;
    if (name === undefined || !Object.hasOwn(MODEL.operations, name)) {
      throw new EcrApiError('UnknownOperationException', `Unknown operation ${typeof target === 'string' ? `'${target.slice(0, 200)}'` : '(no X-Amz-Target header)'}`);
    }
    return name;
  }

  function checkContentType(req: FastifyRequest): void {
    const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (type !== undefined && type !== '' && !JSON_TYPES.has(type)) {
      throw new EcrApiError('SerializationException', `Content-Type must be application/x-amz-json-1.1, not ${type.slice(0, 100)}`);
    }
  }

  function contextFor(req: FastifyRequest, principal: Principal): EcrContext {
    const allowed = async (action: string, repository: string | null) =>
      (await access!.decide(principal, `ecr:${action}`, repository, requestContext(req))).allowed;
    return {
      req,
      principal,
      access: access!,
      repositories,
      images,
      lifecycle,
      pages,
      registryId,
      baseUrl: externalBase(req, opts.publicUrl),
      allowed,
      async authorize(action, repository) {
        const ecrAction = `ecr:${action}`;
        const decision = await access!.decide(principal, ecrAction, repository, requestContext(req));
        if (decision.allowed) return;
        const resource = repository === null ? '*' : access!.repositoryArn(repository);
        await access!.audit(principal.arn, ecrAction, 'denied', req.ip, { reason: decision.reason }, resource);
        const because =
          decision.reason === 'explicit-deny' ? 'with an explicit deny in a policy' : `because no identity-based policy allows the ${ecrAction} action`;
        throw new EcrApiError('AccessDeniedException', `User: ${principal.arn} is not authorized to perform: ${ecrAction} on resource: ${resource} ${because}`);
      },
      async audit(action, resource, detail) {
        await access!.audit(principal.arn, action, 'success', req.ip, detail, resource);
      },
    };
  }

  async function handle(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    reply.header('x-amzn-requestid', req.id);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const principal = await authenticate(req, body);
    const operation = operationOf(req);
    checkContentType(req);
    const spec = OPERATIONS[operation];
    if (!spec) {
      const feature = LATER_FEATURES[operation];
      throw new EcrApiError(
        'UnsupportedOperationException',
        `Wharf does not support ${operation} yet${feature ? `: ${feature} are not implemented` : ''}`,
      );
    }
    const input = parseBody(body);
    validateInput(operation, input);
    for (const id of [input.registryId, ...(Array.isArray(input.registryIds) ? input.registryIds : [])]) {
      if (id !== undefined && id !== null && id !== registryId) {
        throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'registryId' failed to satisfy constraint: '${String(id)}' is not this registry's id ('${registryId}')`);
      }
    }
    const ctx = contextFor(req, principal);
    if (spec.resource) await ctx.authorize(operation, spec.resource(input as never, ctx));
    const output = await spec.run(ctx, input as never);
    // A Buffer, so Fastify adds no charset: AWS answers exactly application/x-amz-json-1.1.
    return reply.code(200).header('content-type', 'application/x-amz-json-1.1').send(Buffer.from(JSON.stringify(output)));
  }

  app.post('/', { bodyLimit: ECR_BODY_LIMIT }, async (req, reply) => {
    try {
      return await handle(req, reply);
    } catch (caught) {
      let err: EcrApiError;
      if (caught instanceof EcrApiError) err = caught;
      else if (caught instanceof RegistryError) err = ecrErrorOf(caught, registryId);
      else {
        req.log.error({ err: caught }, 'ECR API request failed');
        err = new EcrApiError('ServerException', 'An internal error occurred; the request id identifies it in the server log', 500);
      }
      return sendEcrError(reply, err, req.id);
    }
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable, Writable } from 'node:stream';
import { RegistryError } from '../../registry/errors.js';
import { MAX_MANIFEST_BYTES, MediaTypes, SUPPORTED_MANIFEST_TYPES } from '../../registry/manifest.js';
import type { Registry } from '../../registry/registry.js';
import { isRegistryError, sendOciError, wireError } from './oci-errors.js';
import { matchV2, splitUrl, type V2Route } from './paths.js';
import { parseContentRange, parseRange } from './ranges.js';
import type { Caller, V2Gate } from './gate.js';

export interface DistributionOptions {
  registry: Registry;
  /** Authorization; absent when the registry runs with `auth: none`. */
  gate?: V2Gate;
  /** Absolute base for Location headers; relative locations when unset. */
  publicUrl: string | undefined;
}

type Handler = (req: FastifyRequest, reply: FastifyReply, route: never, query: URLSearchParams, caller: Caller | undefined) => Promise<unknown>;

/**
 * The OCI Distribution API. Handlers translate HTTP <-> Registry calls; every rule
 * about what a push or pull means lives in registry/.
 */
export async function distributionRoutes(app: FastifyInstance, opts: DistributionOptions): Promise<void> {
  const { registry, gate } = opts;
  const base = opts.publicUrl ?? '';

  // Bodies are streamed straight to storage (blobs) or read with a size cap (manifests)
  // by the handlers themselves; Fastify must not buffer or parse them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  const handlers: Partial<Record<V2Route['kind'], Partial<Record<string, Handler>>>> = {
    base: {
      GET: async (_req, reply) => reply.send({}),
    },
    catalog: {
      GET: async (req, reply, _route, query, caller) => {
        const page = pageOf(query);
        const names =
          gate && caller
            ? await visibleRepositories(page, (name) => gate.mayList(req, caller, name))
            : await registry.listRepositories({ last: page.last, limit: page.fetch });
        const more = page.n !== undefined && page.n > 0 && names.length > page.n;
        const repositories = page.n !== undefined ? names.slice(0, page.n) : names;
        if (more) reply.header('link', `<${base}/v2/_catalog?n=${page.n}&last=${encodeURIComponent(repositories.at(-1)!)}>; rel="next"`);
        return reply.send({ repositories });
      },
    },
    tags: {
      GET: async (_req, reply, route: Extract<V2Route, { kind: 'tags' }>, query) => {
        const page = pageOf(query);
        const names = await registry.listTags(route.name, { last: page.last, limit: page.fetch });
        const more = page.n !== undefined && page.n > 0 && names.length > page.n;
        const tags = page.n !== undefined ? names.slice(0, page.n) : names;
        if (more) reply.header('link', `<${base}/v2/${route.name}/tags/list?n=${page.n}&last=${encodeURIComponent(tags.at(-1)!)}>; rel="next"`);
        return reply.send({ name: route.name, tags });
      },
    },
    blob: {
      GET: async (req, reply, route: Extract<V2Route, { kind: 'blob' }>) => sendBlob(req, reply, route, true),
      HEAD: async (req, reply, route: Extract<V2Route, { kind: 'blob' }>) => sendBlob(req, reply, route, false),
      DELETE: async (_req, reply, route: Extract<V2Route, { kind: 'blob' }>) => {
        await registry.deleteBlob(route.name, route.digest);
        return reply.code(202).header('content-length', '0').send();
      },
    },
    uploads: {
      POST: async (req, reply, route: Extract<V2Route, { kind: 'uploads' }>, query, caller) => {
        const mount = query.get('mount');
        if (mount !== null) {
          const from = query.get('from') ?? undefined;
          // A mount reads the source: the caller must be allowed to, else it is a plain upload.
          const canRead = gate && caller ? (repo: string) => gate.mayRead(req, caller, repo) : undefined;
          if (await registry.mountBlob(route.name, mount, from, canRead)) {
            return blobCreated(reply, route.name, mount);
          }
        } else {
          const digest = query.get('digest');
          if (digest !== null) {
            const stored = await registry.monolithicUpload(route.name, digest, req.raw);
            return blobCreated(reply, route.name, stored);
          }
        }
        const upload = await registry.startUpload(route.name);
        return uploadAccepted(reply, route.name, upload.id, upload.size, 202);
      },
    },
    upload: {
      GET: async (_req, reply, route: Extract<V2Route, { kind: 'upload' }>) => {
        const upload = await registry.uploadStatus(route.name, route.id);
        return uploadAccepted(reply, route.name, upload.id, upload.size, 204);
      },
      PATCH: async (req, reply, route: Extract<V2Route, { kind: 'upload' }>) => {
        const range = parseContentRange(req.headers['content-range']);
        try {
          const upload = await registry.appendUpload(route.name, route.id, req.raw, range, contentLength(req));
          return uploadAccepted(reply, route.name, upload.id, upload.size, 202);
        } catch (err) {
          describeUploadState(reply, route, err);
          throw err;
        }
      },
      PUT: async (req, reply, route: Extract<V2Route, { kind: 'upload' }>, query) => {
        const digest = query.get('digest');
        if (digest === null) throw new RegistryError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
        const body = hasBody(req) ? req.raw : undefined;
        const range = body ? parseContentRange(req.headers['content-range']) : undefined;
        try {
          const stored = await registry.completeUpload(route.name, route.id, digest, body, range, contentLength(req));
          return blobCreated(reply, route.name, stored);
        } catch (err) {
          describeUploadState(reply, route, err);
          throw err;
        }
      },
      DELETE: async (_req, reply, route: Extract<V2Route, { kind: 'upload' }>) => {
        await registry.cancelUpload(route.name, route.id);
        return reply.code(204).send();
      },
    },
    manifest: {
      GET: async (req, reply, route: Extract<V2Route, { kind: 'manifest' }>) => sendManifest(req, reply, route, true),
      HEAD: async (req, reply, route: Extract<V2Route, { kind: 'manifest' }>) => sendManifest(req, reply, route, false),
      PUT: async (req, reply, route: Extract<V2Route, { kind: 'manifest' }>) => {
        const declared = contentLength(req);
        if (declared !== undefined && declared > MAX_MANIFEST_BYTES) {
          throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds ${MAX_MANIFEST_BYTES} bytes`, { limit: MAX_MANIFEST_BYTES });
        }
        const payload = await readCapped(req.raw, MAX_MANIFEST_BYTES);
        const { digest, subject } = await registry.putManifest(route.name, route.reference, payload, req.headers['content-type']);
        if (subject) reply.header('oci-subject', subject);
        return reply
          .code(201)
          .header('location', `${base}/v2/${route.name}/manifests/${digest}`)
          .header('docker-content-digest', digest)
          .header('content-length', '0')
          .send();
      },
      DELETE: async (_req, reply, route: Extract<V2Route, { kind: 'manifest' }>) => {
        await registry.deleteManifest(route.name, route.reference);
        return reply.code(202).header('content-length', '0').send();
      },
    },
    referrers: {
      GET: async (_req, reply, route: Extract<V2Route, { kind: 'referrers' }>, query) => {
        const rows = await registry.listReferrers(route.name, route.digest);
        const filter = query.getAll('artifactType');
        const descriptors = rows
          .map((r) => ({
            mediaType: r.media_type,
            digest: r.digest,
            size: r.size,
            ...artifactTypeOf(r),
            ...(r.annotations ? { annotations: JSON.parse(r.annotations) as Record<string, string> } : {}),
          }))
          .filter((d) => filter.length === 0 || (d.artifactType !== undefined && filter.includes(d.artifactType)));
        if (filter.length > 0) reply.header('oci-filters-applied', 'artifactType');
        return reply
          .header('content-type', MediaTypes.ociIndex)
          .send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: descriptors })));
      },
    },
  };

  async function sendBlob(req: FastifyRequest, reply: FastifyReply, route: Extract<V2Route, { kind: 'blob' }>, withBody: boolean) {
    const stat = await registry.statBlob(route.name, route.digest);
    const { digest, size } = stat;
    const redirect = withBody ? await registry.blobRedirectUrl(digest) : null;
    if (redirect) return reply.code(307).header('location', redirect).header('docker-content-digest', digest).header('content-length', '0').send();
    reply
      .header('docker-content-digest', digest)
      .header('etag', `"${digest}"`)
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'max-age=31536000')
      .header('content-type', 'application/octet-stream');
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      reply.header('content-range', `bytes */${size}`);
      throw new RegistryError('RANGE_INVALID', `requested range not satisfiable for a blob of ${size} bytes`, { size });
    }
    if (range) {
      reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`).header('content-length', String(range.end - range.start + 1));
    } else {
      reply.header('content-length', String(size));
    }
    if (!withBody) return reply.send();
    const body = await registry.openBlob(stat, range ?? undefined);
    if (isDirectSource(body) && req.raw.httpVersionMajor === 1) {
      // HTTP/1.1: the store writes straight to the socket from reused buffers (see FileReader).
      reply.hijack();
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string>);
      try {
        await body.writeTo(reply.raw);
      } catch (err) {
        // Headers are out: the only way to tell the client is to cut the connection.
        req.log.info({ reason: (err as Error).message }, 'blob response ended early');
        reply.raw.destroy();
      }
      return reply;
    }
    return reply.send(body);
  }

  async function sendManifest(req: FastifyRequest, reply: FastifyReply, route: Extract<V2Route, { kind: 'manifest' }>, withBody: boolean) {
    const manifest = await registry.getManifest(route.name, route.reference, { withPayload: withBody });
    if (!accepts(req.headers.accept, manifest.mediaType)) {
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest is ${manifest.mediaType}, which the Accept header does not allow`, {
        mediaType: manifest.mediaType,
      });
    }
    reply
      .header('content-type', manifest.mediaType)
      .header('docker-content-digest', manifest.digest)
      .header('etag', `"${manifest.digest}"`)
      .header('content-length', String(manifest.size));
    return reply.send(withBody ? manifest.payload : undefined);
  }

  /** A 416 tells the client where the upload stands, so it can resume from there. */
  function describeUploadState(reply: FastifyReply, route: { name: string; id: string }, err: unknown): void {
    if (isRegistryError(err) && (err.code === 'RANGE_INVALID' || err.code === 'UPLOAD_BUSY')) {
      const size = (err.detail as { size?: number } | undefined)?.size ?? 0;
      reply.header('range', rangeHeader(size)).header('docker-upload-uuid', route.id).header('location', uploadLocation(route.name, route.id));
    }
  }

  /** A catalog page of repositories the caller may list, filled up to `n` despite the filtering. */
  async function visibleRepositories(page: ReturnType<typeof pageOf>, mayList: (name: string) => Promise<boolean>): Promise<string[]> {
    const out: string[] = [];
    let last = page.last;
    const batch = 500;
    for (;;) {
      const names = await registry.listRepositories({ last, limit: batch });
      for (const name of names) {
        if (await mayList(name)) out.push(name);
        if (page.fetch !== undefined && out.length >= page.fetch) return out;
      }
      if (names.length < batch) return out;
      last = names.at(-1);
    }
  }

  function uploadLocation(name: string, id: string): string {
    return `${base}/v2/${name}/blobs/uploads/${id}`;
  }

  function uploadAccepted(reply: FastifyReply, name: string, id: string, size: number, status: 202 | 204) {
    return reply
      .code(status)
      .header('location', uploadLocation(name, id))
      .header('docker-upload-uuid', id)
      .header('range', rangeHeader(size))
      .header('content-length', '0')
      .send();
  }

  function blobCreated(reply: FastifyReply, name: string, digest: string) {
    return reply
      .code(201)
      .header('location', `${base}/v2/${name}/blobs/${digest}`)
      .header('docker-content-digest', digest)
      .header('content-length', '0')
      .send();
  }

  const dispatch = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('docker-distribution-api-version', 'registry/2.0');
    const { path, query } = splitUrl(req.raw.url ?? '/');
    const route = matchV2(path);
    try {
      if (route.kind === 'unknown') throw new RegistryError('NOT_FOUND', 'no such endpoint');
      const handler = handlers[route.kind]?.[req.method];
      if (!handler) {
        reply.header('allow', Object.keys(handlers[route.kind] ?? {}).join(', '));
        throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on this endpoint`);
      }
      let caller: Caller | undefined;
      if (gate) {
        caller = await gate.identify(req, reply);
        await gate.authorize(req, reply, route, caller);
      }
      return await handler(req, reply, route as never, query, caller);
    } catch (caught) {
      if (!isRegistryError(caught)) {
        // A request's stream is also 'destroyed' once its body has been read, so that alone proves nothing.
        if (req.raw.aborted || (req.raw.destroyed && !req.raw.complete)) {
          // The client went away mid-body: nothing was acknowledged, nothing to answer.
          req.log.info({ reason: (caught as Error).message }, 'client disconnected during the request');
          return reply;
        }
        // Not the client's fault: log it whole, answer in the protocol's format without internals.
        req.log.error({ err: caught }, 'request failed');
        if (reply.sent) return reply;
      }
      const err = isRegistryError(caught) ? caught : new RegistryError('INTERNAL', 'internal server error', { requestId: req.id });
      if (req.method === 'HEAD') {
        // HEAD answers carry no body; the status says it all.
        const { status } = wireError(err.code);
        return reply.code(status).header('content-length', '0').send();
      }
      return sendOciError(reply, err);
    }
  };

  for (const url of ['/v2', '/v2/', '/v2/*']) {
    app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'], url, handler: dispatch });
  }
}

/** A blob stream that can write itself to a response (the filesystem store's reader). */
interface DirectSource {
  writeTo(out: Writable): Promise<void>;
}

function isDirectSource(stream: Readable): stream is Readable & DirectSource {
  return typeof (stream as Partial<DirectSource>).writeTo === 'function';
}

function pageOf(query: URLSearchParams): { n?: number; last?: string; fetch?: number } {
  const nText = query.get('n');
  const last = query.get('last') ?? undefined;
  if (nText === null) return { last };
  if (!/^\d{1,9}$/.test(nText)) throw new RegistryError('PAGINATION_INVALID', 'n must be a non-negative integer', { n: nText });
  const n = Number(nText);
  // One extra row tells whether another page follows.
  return { n, last, fetch: n + 1 };
}

function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function contentLength(req: FastifyRequest): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function hasBody(req: FastifyRequest): boolean {
  const length = contentLength(req);
  if (length !== undefined) return length > 0;
  if (req.headers['transfer-encoding'] !== undefined) return true;
  // HTTP/2 has no Transfer-Encoding: a request without a body ends its stream with its headers.
  const stream = (req.raw as { stream?: { endAfterHeaders?: boolean } }).stream;
  return stream?.endAfterHeaders === false;
}

/** Reads a request body into memory, refusing more than `limit` bytes. */
async function readCapped(stream: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > limit) {
      stream.destroy();
      throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds ${limit} bytes`, { limit });
    }
    parts.push(buf);
  }
  return Buffer.concat(parts, total);
}

/**
 * Whether a client's Accept header allows a stored manifest type. No Accept, a
 * wildcard, or an Accept naming no manifest type at all means "anything".
 */
function accepts(header: string | undefined, mediaType: string): boolean {
  if (!header) return true;
  const types = header.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  if (types.includes(mediaType) || types.includes('*/*') || types.includes('application/*')) return true;
  return !types.some((t) => SUPPORTED_MANIFEST_TYPES.includes(t));
}

/** A referrer's artifactType: its own field, else its config's media type (OCI 1.1). */
function artifactTypeOf(r: { artifact_type: string | null; config_media_type: string | null }): { artifactType?: string } {
  const type = r.artifact_type ?? r.config_media_type;
  return type ? { artifactType: type } : {};
}

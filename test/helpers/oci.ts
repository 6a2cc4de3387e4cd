// Helpers for the OCI distribution protocol tests (test/protocol/**).
// Plain fetch (undici) against a real server; node:http only where a raw, unnormalised
// request path is needed (path traversal) or a request must be cut off mid-body.
//
// WHARF_TEST_TARGET=reference runs the suite against the CNCF reference registry 2.8.2
// instead of Wharf, to check that a test expresses the protocol and not a Wharf quirk.
// Tests of behaviour the reference lacks or gets wrong are marked `it.skipIf(isReference)`.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { startReference } from './reference.js';
import { startWharf, type StartOptions, type TestDatabase, type TestRegistry } from './wharf.js';

export type { TestDatabase, TestRegistry } from './wharf.js';
export { testDatabases } from './wharf.js';

// ---------------------------------------------------------------------------------------------
// Target selection

export type TestTarget = 'wharf' | 'reference';
export const target: TestTarget = process.env.WHARF_TEST_TARGET === 'reference' ? 'reference' : 'wharf';
/** true when the suite runs against the reference registry (no referrers API, no sha512, ...). */
export const isReference = target === 'reference';

/** Starts the registry under test: Wharf on `database`, or the reference registry. */
export async function startTarget(database: TestDatabase, config?: StartOptions['config']): Promise<TestRegistry> {
  if (isReference) return startReference();
  return startWharf({ database, ...(config ? { config } : {}) });
}

export interface RegistryHandle {
  /** the running registry; set in beforeAll */
  reg: TestRegistry;
  /** client bound to `reg`; set in beforeAll */
  c: OciClient;
}

/** Registers beforeAll/afterAll that start and stop one registry for the enclosing describe. */
export function useRegistry(database: TestDatabase, config?: StartOptions['config']): RegistryHandle {
  const handle = {} as RegistryHandle;
  beforeAll(async () => {
    handle.reg = await startTarget(database, config);
    handle.c = new OciClient(handle.reg);
  });
  afterAll(async () => {
    await handle.reg?.stop();
  });
  return handle;
}

// ---------------------------------------------------------------------------------------------
// Media types and digests

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerNonDistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  octetStream: 'application/octet-stream',
} as const;

export type DigestAlgorithm = 'sha256' | 'sha512';

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return algorithm === 'sha512' ? sha512(data) : sha256(data);
}

export function randomBlob(size: number): Buffer {
  return randomBytes(size);
}

/** A syntactically valid sha256 digest of random content nobody has pushed. */
export function unknownDigest(): string {
  return sha256(randomBytes(32));
}

/** Digests that are not valid OCI digests; servers must answer 400 DIGEST_INVALID, never 500. */
export const MALFORMED_DIGESTS: readonly string[] = [
  'sha256:xyz',
  `md5:${'a'.repeat(32)}`,
  `sha256:${'a'.repeat(63)}`,
  `sha256:${'a'.repeat(65)}`,
  `sha256:${'A'.repeat(64)}`,
  `sha512:${'a'.repeat(127)}`,
];

/** Short random suffix for repository names and tags, so tests sharing a server never collide. */
export function uid(len = 8): string {
  return randomBytes(Math.ceil(len / 2)).toString('hex').slice(0, len);
}

export function repoName(prefix = 'test'): string {
  return `${prefix}-${uid()}`;
}

// ---------------------------------------------------------------------------------------------
// Content builders

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Platform;
}

/** A piece of content (blob or manifest) with its exact bytes. */
export interface Content {
  bytes: Buffer;
  digest: string;
  size: number;
  mediaType: string;
  /** descriptor for this content, optionally with extra fields */
  descriptor(extra?: Partial<Descriptor>): Descriptor;
}

export function content(bytes: Buffer, mediaType: string, algorithm: DigestAlgorithm = 'sha256'): Content {
  const digest = digestOf(bytes, algorithm);
  return {
    bytes,
    digest,
    size: bytes.length,
    mediaType,
    descriptor(extra = {}) {
      return { mediaType, digest, size: bytes.length, ...extra };
    },
  };
}

/**
 * Serialises a JSON document the way no canonicaliser would (3-space indent, trailing newline),
 * so a registry that re-serialises instead of storing the exact bytes is caught.
 */
export function jsonBytes(doc: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(doc, null, 3)}\n`, 'utf8');
}

/** The OCI empty JSON blob `{}` (application/vnd.oci.empty.v1+json). */
export const EMPTY_JSON: Content = content(Buffer.from('{}'), MT.ociEmpty);

export function ociConfig(extra: Record<string, unknown> = {}): Content {
  return content(
    jsonBytes({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: uid(16), ...extra }),
    MT.ociConfig,
  );
}

export function layer(size = 512, mediaType: string = MT.ociLayer, algorithm: DigestAlgorithm = 'sha256'): Content {
  return content(randomBlob(size), mediaType, algorithm);
}

export interface ImageManifestOptions {
  config: Descriptor;
  layers?: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** the `mediaType` field; null leaves it out (podman does) */
  mediaType?: string | null;
}

/** An OCI image manifest (also used for artifacts: artifactType, or a custom config.mediaType). */
export function ociManifest(opts: ImageManifestOptions): Content {
  const doc: Record<string, unknown> = { schemaVersion: 2 };
  if (opts.mediaType !== null) doc.mediaType = opts.mediaType ?? MT.ociManifest;
  if (opts.artifactType !== undefined) doc.artifactType = opts.artifactType;
  doc.config = opts.config;
  doc.layers = opts.layers ?? [];
  if (opts.subject) doc.subject = opts.subject;
  if (opts.annotations) doc.annotations = opts.annotations;
  return content(jsonBytes(doc), MT.ociManifest);
}

export interface IndexOptions {
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  mediaType?: string | null;
}

export function ociIndex(opts: IndexOptions): Content {
  const doc: Record<string, unknown> = { schemaVersion: 2 };
  if (opts.mediaType !== null) doc.mediaType = opts.mediaType ?? MT.ociIndex;
  if (opts.artifactType !== undefined) doc.artifactType = opts.artifactType;
  doc.manifests = opts.manifests;
  if (opts.subject) doc.subject = opts.subject;
  if (opts.annotations) doc.annotations = opts.annotations;
  return content(jsonBytes(doc), MT.ociIndex);
}

export function dockerManifest(opts: { config: Descriptor; layers?: Descriptor[] }): Content {
  const doc = { schemaVersion: 2, mediaType: MT.dockerManifest, config: opts.config, layers: opts.layers ?? [] };
  return content(jsonBytes(doc), MT.dockerManifest);
}

export function dockerManifestList(opts: { manifests: Descriptor[] }): Content {
  const doc = { schemaVersion: 2, mediaType: MT.dockerManifestList, manifests: opts.manifests };
  return content(jsonBytes(doc), MT.dockerManifestList);
}

export interface ArtifactOptions {
  /** the manifest's artifactType; leave out to describe the artifact by configMediaType alone */
  artifactType?: string;
  /** config descriptor media type; defaults to the empty JSON type */
  configMediaType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
  layers?: Descriptor[];
}

/**
 * An artifact in the OCI 1.1 sense: an image manifest whose config is the empty JSON blob
 * (or a custom config type), usually with a subject. Its config blob is always EMPTY_JSON's bytes.
 */
export function artifactManifest(opts: ArtifactOptions): Content {
  return ociManifest({
    config: { mediaType: opts.configMediaType ?? MT.ociEmpty, digest: EMPTY_JSON.digest, size: EMPTY_JSON.size },
    layers: opts.layers ?? [EMPTY_JSON.descriptor()],
    ...(opts.artifactType !== undefined ? { artifactType: opts.artifactType } : {}),
    ...(opts.subject ? { subject: opts.subject } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// Error bodies

export interface OciErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

/** Reads and checks an OCI error body: JSON, `{"errors":[{code, message?, detail?}, ...]}`. */
export async function readOciError(res: Response): Promise<OciErrorEntry[]> {
  const text = await res.text();
  const ctx = `${res.status} ${res.url} body=${text.slice(0, 300)}`;
  expect(res.headers.get('content-type') ?? '', ctx).toMatch(/^application\/json\b/);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON: ${ctx}`);
  }
  expect(doc, ctx).toBeTypeOf('object');
  const errors = (doc as { errors?: unknown }).errors;
  expect(Array.isArray(errors), ctx).toBe(true);
  const list = errors as unknown[];
  expect(list.length, ctx).toBeGreaterThan(0);
  for (const e of list) {
    expect(e, ctx).toBeTypeOf('object');
    const entry = e as Record<string, unknown>;
    expect(entry.code, ctx).toBeTypeOf('string');
    expect(entry.code as string, ctx).toMatch(/^[A-Z_]+$/);
    if (entry.message !== undefined) expect(entry.message, ctx).toBeTypeOf('string');
  }
  return list as OciErrorEntry[];
}

/**
 * Asserts an OCI error response: the status, a well-formed JSON error body, and that at least
 * one error carries one of `codes`.
 */
export async function expectOciError(res: Response, status: number, codes: string | readonly string[]): Promise<OciErrorEntry[]> {
  const wanted = typeof codes === 'string' ? [codes] : codes;
  if (res.status !== status) {
    const body = await res.text().catch(() => '');
    throw new Error(`expected ${status} ${wanted.join('|')}, got ${res.status} for ${res.url}: ${body.slice(0, 300)}`);
  }
  const errors = await readOciError(res);
  const got = errors.map((e) => e.code);
  expect(
    got.some((c) => wanted.includes(c)),
    `expected one of ${wanted.join('|')} in ${JSON.stringify(got)} (${res.url})`,
  ).toBe(true);
  return errors;
}

/** Asserts a status for a HEAD request (which carries no body). */
export async function expectHeadStatus(res: Response, status: number): Promise<void> {
  expect(res.status, res.url).toBe(status);
  const body = Buffer.from(await res.arrayBuffer());
  expect(body.length).toBe(0);
}

/** Asserts a status and discards the body, with the body in the failure message. */
export async function expectStatus(res: Response, status: number | readonly number[]): Promise<Buffer> {
  const body = Buffer.from(await res.arrayBuffer());
  const wanted = typeof status === 'number' ? [status] : status;
  if (!wanted.includes(res.status)) {
    throw new Error(`expected ${wanted.join('|')}, got ${res.status} for ${res.url}: ${body.toString('utf8').slice(0, 300)}`);
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

/** Parses `Link: <url>; rel="next"` and returns the URL (resolved against base), or null. */
export function nextLink(res: Response, base: string): URL | null {
  const link = res.headers.get('link');
  if (link === null) return null;
  const m = /^\s*<([^>]+)>\s*;\s*rel="?next"?\s*$/.exec(link);
  if (!m || m[1] === undefined) throw new Error(`malformed Link header: ${link}`);
  return new URL(m[1], base);
}

/** Parses an upload `Range: 0-N` header into N (the offset of the last byte received). */
export function uploadRangeEnd(res: Response): number {
  const range = res.headers.get('range');
  expect(range, `Range header missing (${res.status} ${res.url})`).not.toBeNull();
  const m = /^0-(\d+)$/.exec(range ?? '');
  expect(m, `malformed Range header ${range}`).not.toBeNull();
  return Number(m?.[1]);
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Sends a request with `path` exactly as given (fetch would normalise `..`, `%2e%2e`, ...).
 */
export function rawRequest(
  reg: TestRegistry,
  method: string,
  path: string,
  opts: { headers?: http.OutgoingHttpHeaders; body?: Buffer } = {},
): Promise<RawResponse> {
  const base = new URL(reg.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: { ...(opts.body ? { 'content-length': String(opts.body.length) } : {}), ...opts.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Starts a request whose body is cut off: sends `headers`, then `partial`, then destroys the
 * socket. Resolves once the connection is gone. Simulates a client losing connectivity mid-PATCH.
 */
export function interruptedRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  partial: Buffer,
): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: `${u.pathname}${u.search}`, headers, agent: false });
    req.on('error', () => resolve());
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('close', () => resolve());
    req.flushHeaders();
    req.write(partial, () => {
      setTimeout(() => req.destroy(), 50);
    });
  });
}

/** All paths under `dir` (recursively) whose name contains `token`. */
export async function findPaths(dir: string, token: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.name.includes(token)) found.push(p);
      if (e.isDirectory()) await walk(p);
    }
  }
  await walk(dir);
  return found;
}

/**
 * Asserts no file or directory named with `token` exists in the registry's data directory
 * (recursively) nor directly in any of its ancestors up to the filesystem root.
 */
export async function expectNothingNamed(reg: TestRegistry, token: string): Promise<void> {
  expect(await findPaths(reg.dataDir, token)).toEqual([]);
  let d = reg.dataDir;
  for (;;) {
    const parent = dirname(d);
    let names: string[] = [];
    try {
      names = await readdir(parent);
    } catch {
      names = [];
    }
    expect(names.filter((n) => n.includes(token)).map((n) => join(parent, n))).toEqual([]);
    if (parent === d) break;
    d = parent;
  }
}

// ---------------------------------------------------------------------------------------------
// Client

export interface PushBlobOptions {
  algorithm?: DigestAlgorithm;
  /**
   * post-put: POST then PUT with the whole body (default);
   * single-post: POST ?digest= with the body;
   * chunked: POST, PATCH chunks with Content-Range, PUT without body;
   * chunked-final-put: as chunked but the last chunk goes with the PUT.
   */
  method?: 'post-put' | 'single-post' | 'chunked' | 'chunked-final-put';
  chunkSize?: number;
}

export interface UploadSession {
  res: Response;
  /** absolute upload URL */
  location: string;
  uuid: string | null;
}

export interface PushedImage {
  manifest: Content;
  config: Content;
  layers: Content[];
}

/** RequestInit that also takes a Buffer body, and `duplex` for streamed bodies. */
export type OciRequestInit = Omit<RequestInit, 'body'> & { body?: BodyInit | Buffer | null; duplex?: 'half' };

export class OciClient {
  constructor(readonly reg: TestRegistry) {}

  get base(): string {
    return this.reg.url;
  }

  /** Absolute URL for a path (or a Location header value, absolute or relative). */
  url(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.reg.url).toString();
  }

  fetch(pathOrUrl: string, init: OciRequestInit = {}): Promise<Response> {
    // Buffers are valid fetch bodies at run time; @types/node's BodyInit just does not say so
    return fetch(this.url(pathOrUrl), { redirect: 'manual', ...init } as RequestInit);
  }

  /** `location` with query parameters added (keeping any the registry put there). */
  withQuery(location: string, params: Record<string, string>): string {
    const u = new URL(location, this.reg.url);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  }

  // ---- blobs

  blobPath(repo: string, digest: string): string {
    return `/v2/${repo}/blobs/${digest}`;
  }

  getBlob(repo: string, digest: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(this.blobPath(repo, digest), { headers });
  }

  headBlob(repo: string, digest: string): Promise<Response> {
    return this.fetch(this.blobPath(repo, digest), { method: 'HEAD' });
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    const res = await this.headBlob(repo, digest);
    await res.arrayBuffer();
    if (res.status !== 200 && res.status !== 404) throw new Error(`HEAD blob: unexpected ${res.status}`);
    return res.status === 200;
  }

  /** POST /v2/<repo>/blobs/uploads/ (optionally with query), expecting 202. */
  async startUpload(repo: string, query = ''): Promise<UploadSession> {
    const res = await this.fetch(`/v2/${repo}/blobs/uploads/${query}`, { method: 'POST', headers: { 'content-length': '0' } });
    if (res.status !== 202) throw new Error(`POST upload: expected 202, got ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (!location) throw new Error('POST upload: no Location');
    return { res, location: this.url(location), uuid: res.headers.get('docker-upload-uuid') };
  }

  patchChunk(location: string, chunk: Buffer, start: number | null): Promise<Response> {
    const headers: Record<string, string> = {
      'content-type': MT.octetStream,
      'content-length': String(chunk.length),
    };
    if (start !== null) headers['content-range'] = `${start}-${start + chunk.length - 1}`;
    return this.fetch(location, { method: 'PATCH', headers, body: chunk });
  }

  /** PUT <location>?digest=..., optionally with a final chunk (and its Content-Range). */
  putUpload(location: string, digest: string, chunk?: Buffer, start?: number): Promise<Response> {
    const headers: Record<string, string> = {};
    if (chunk) {
      headers['content-type'] = MT.octetStream;
      headers['content-length'] = String(chunk.length);
      if (start !== undefined) headers['content-range'] = `${start}-${start + chunk.length - 1}`;
    }
    return this.fetch(this.withQuery(location, { digest }), { method: 'PUT', headers, ...(chunk ? { body: chunk } : {}) });
  }

  /** Pushes a blob and asserts 201; returns its digest. */
  async pushBlob(repo: string, data: Buffer, opts: PushBlobOptions = {}): Promise<string> {
    const digest = digestOf(data, opts.algorithm);
    const method = opts.method ?? 'post-put';
    let res: Response;
    if (method === 'single-post') {
      res = await this.fetch(`/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
        method: 'POST',
        headers: { 'content-type': MT.octetStream, 'content-length': String(data.length) },
        body: data,
      });
    } else if (method === 'post-put') {
      const { location } = await this.startUpload(repo);
      res = await this.putUpload(location, digest, data);
    } else {
      const chunkSize = opts.chunkSize ?? Math.max(1, Math.ceil(data.length / 3));
      let { location } = await this.startUpload(repo);
      let offset = 0;
      const lastInPut = method === 'chunked-final-put';
      while (offset < data.length && !(lastInPut && offset + chunkSize >= data.length)) {
        const chunk = data.subarray(offset, offset + chunkSize);
        const r = await this.patchChunk(location, chunk, offset);
        if (r.status !== 202) throw new Error(`PATCH: expected 202, got ${r.status}: ${await r.text()}`);
        await r.arrayBuffer();
        location = this.url(r.headers.get('location') ?? location);
        offset += chunk.length;
      }
      res = offset < data.length
        ? await this.putUpload(location, digest, data.subarray(offset), offset)
        : await this.putUpload(location, digest);
    }
    if (res.status !== 201) throw new Error(`push blob (${method}): expected 201, got ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    return digest;
  }

  async pushContent(repo: string, ...items: Content[]): Promise<void> {
    for (const item of items) {
      const alg = item.digest.startsWith('sha512:') ? 'sha512' : 'sha256';
      await this.pushBlob(repo, item.bytes, { algorithm: alg });
    }
  }

  // ---- manifests

  manifestPath(repo: string, ref: string): string {
    return `/v2/${repo}/manifests/${ref}`;
  }

  putManifest(repo: string, ref: string, body: Buffer, contentType: string | null): Promise<Response> {
    const headers: Record<string, string> = {};
    if (contentType !== null) headers['content-type'] = contentType;
    return this.fetch(this.manifestPath(repo, ref), { method: 'PUT', headers, body });
  }

  /** PUTs a manifest (by tag, or by its digest when ref is omitted) and asserts 201. */
  async pushManifest(repo: string, m: Content, ref: string = m.digest): Promise<Response> {
    const res = await this.putManifest(repo, ref, m.bytes, m.mediaType);
    if (res.status !== 201) throw new Error(`PUT manifest ${repo}:${ref}: expected 201, got ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    return res;
  }

  getManifest(repo: string, ref: string, accept: string | null = ALL_MANIFEST_TYPES): Promise<Response> {
    return this.fetch(this.manifestPath(repo, ref), { headers: accept === null ? {} : { accept } });
  }

  headManifest(repo: string, ref: string, accept: string | null = ALL_MANIFEST_TYPES): Promise<Response> {
    return this.fetch(this.manifestPath(repo, ref), { method: 'HEAD', headers: accept === null ? {} : { accept } });
  }

  deleteManifest(repo: string, ref: string): Promise<Response> {
    return this.fetch(this.manifestPath(repo, ref), { method: 'DELETE' });
  }

  /** Pushes a small OCI image (config + layers + manifest), tagged when `tag` is given. */
  async pushImage(repo: string, tag?: string, opts: { layers?: number; layerSize?: number; annotations?: Record<string, string> } = {}): Promise<PushedImage> {
    const config = ociConfig();
    const layers = Array.from({ length: opts.layers ?? 1 }, () => layer(opts.layerSize ?? 256));
    await this.pushContent(repo, config, ...layers);
    const manifest = ociManifest({
      config: config.descriptor(),
      layers: layers.map((l) => l.descriptor()),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    });
    await this.pushManifest(repo, manifest, tag ?? manifest.digest);
    return { manifest, config, layers };
  }

  // ---- listing

  tagsList(repo: string, query = ''): Promise<Response> {
    return this.fetch(`/v2/${repo}/tags/list${query}`);
  }

  catalog(query = ''): Promise<Response> {
    return this.fetch(`/v2/_catalog${query}`);
  }

  /** Every repository in the catalog (following Link pages). */
  async allRepositories(): Promise<string[]> {
    const out: string[] = [];
    let url: string | null = this.url('/v2/_catalog?n=1000');
    for (let i = 0; url && i < 1000; i++) {
      const res: Response = await this.fetch(url);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as { repositories: string[] };
      out.push(...doc.repositories);
      url = nextLink(res, this.reg.url)?.toString() ?? null;
    }
    return out;
  }
}

/** An Accept header listing every manifest type the tests use. */
export const ALL_MANIFEST_TYPES = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerManifestList].join(', ');

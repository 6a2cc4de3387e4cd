// A lean keep-alive HTTP client for the registry protocol: node:http, no body buffering for
// large transfers, relative or absolute Location headers, the upload dance (POST, PATCH, PUT).
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, unless the request asked to discard it. */
  body: Buffer;
  /** Bytes of body received (also when discarded). */
  bytes: number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string | Readable;
  /** Count the body's bytes but do not keep them (blob downloads). */
  discard?: boolean;
  /** Fail when the connection is idle this long (default 60 s): a server that never answers must not hang the bench. */
  idleTimeoutMs?: number;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A registry at `base` (http://127.0.0.1:PORT) reached through one keep-alive agent. */
export class RegistryClient {
  readonly agent: http.Agent;

  constructor(
    readonly base: string,
    maxSockets = 64,
    readonly idleTimeoutMs = 60_000,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  close(): void {
    this.agent.destroy();
  }

  url(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.base);
  }

  request(target: string | URL, opts: RequestOptions = {}): Promise<Response> {
    const url = typeof target === 'string' ? this.url(target) : target;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...opts.headers };
      const body = opts.body;
      if ((typeof body === 'string' || Buffer.isBuffer(body)) && headers['content-length'] === undefined) {
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method ?? 'GET', headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (!opts.discard) chunks.push(chunk);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: opts.discard ? Buffer.alloc(0) : Buffer.concat(chunks), bytes }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      const idle = opts.idleTimeoutMs ?? this.idleTimeoutMs;
      req.setTimeout(idle, () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url.pathname}: no response for ${idle / 1000} s`)));
      if (body === undefined) req.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  async expect(status: number | number[], target: string | URL, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.request(target, opts);
    const ok = Array.isArray(status) ? status.includes(res.status) : res.status === status;
    if (!ok) {
      const url = typeof target === 'string' ? target : target.pathname;
      throw new HttpError(`${opts.method ?? 'GET'} ${url}: expected ${String(status)}, got ${res.status} ${res.body.toString('utf8').slice(0, 300)}`, res.status);
    }
    return res;
  }

  /** POST to start an upload; returns the absolute upload URL. */
  async startUpload(repo: string): Promise<URL> {
    const res = await this.expect(202, `/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': 0 } });
    return this.location(res);
  }

  location(res: Response): URL {
    const loc = res.headers.location;
    if (!loc) throw new Error(`response ${res.status} has no Location header`);
    return this.url(loc);
  }

  /** Monolithic push as docker does it: POST, then one PUT with the whole body and the digest. */
  async pushMonolithic(repo: string, digest: string, size: number, body: Buffer | Readable): Promise<void> {
    const upload = await this.startUpload(repo);
    upload.searchParams.set('digest', digest);
    await this.expect(201, upload, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': size },
      body,
    });
  }

  /** Chunked push: POST, PATCH chunks with Content-Range, then a PUT without body. */
  async pushChunked(repo: string, digest: string, size: number, chunkSize: number, chunk: (start: number, end: number) => Readable | Buffer): Promise<number> {
    let upload = await this.startUpload(repo);
    let patches = 0;
    for (let start = 0; start < size; start += chunkSize) {
      const end = Math.min(size, start + chunkSize) - 1;
      const res = await this.expect(202, upload, {
        method: 'PATCH',
        headers: { 'content-type': 'application/octet-stream', 'content-length': end - start + 1, 'content-range': `${start}-${end}` },
        body: chunk(start, end),
      });
      upload = this.location(res);
      patches++;
    }
    upload.searchParams.set('digest', digest);
    await this.expect(201, upload, { method: 'PUT', headers: { 'content-length': 0 } });
    return patches;
  }

  async putManifest(repo: string, reference: string, payload: Buffer, mediaType: string): Promise<void> {
    await this.expect(201, `/v2/${repo}/manifests/${reference}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: payload });
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    return res.status === 200;
  }
}

/** The next page from an RFC 5988 Link header (`<url>; rel="next"`), if any. */
export function nextLink(headers: IncomingHttpHeaders): string | undefined {
  const link = headers.link;
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(Array.isArray(link) ? link.join(',') : link);
  return m?.[1];
}

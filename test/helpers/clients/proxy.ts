// A transparent recording HTTP proxy on 127.0.0.1 in front of the registry under test.
// The clients talk to the proxy's host; every request is forwarded unchanged (Host header
// included, so the registry's Location headers point back at the proxy) and recorded, so the
// tests can check what the client did (e.g. that the second push mounted shared blobs) and
// dump what each client sends when WHARF_TEST_TRACE=1.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync } from 'node:fs';

export interface RecordedRequest {
  method: string;
  /** path and query, as sent */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** bytes of request body seen */
  requestBytes: number;
  status: number;
  responseHeaders: Record<string, string>;
  /** tag given with `mark()` when the request arrived */
  phase: string;
  /** for PUT .../manifests/REF: the body (manifests are small) */
  manifest?: Buffer;
}

export interface RecordingProxy {
  /** 127.0.0.1:PORT, what clients put in image references */
  host: string;
  url: string;
  requests: RecordedRequest[];
  /** label the following requests (e.g. 'push second image') */
  mark(phase: string): void;
  /** requests recorded in a phase */
  inPhase(phase: string): RecordedRequest[];
  /** one line per request, for failure messages and the trace */
  summary(reqs?: RecordedRequest[]): string;
  stop(): Promise<void>;
}

const INTERESTING = [
  'accept',
  'content-type',
  'content-length',
  'content-range',
  'transfer-encoding',
  'expect',
  'user-agent',
  'range',
];

function pick(h: IncomingMessage['headers'], keys?: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    if (keys && !keys.includes(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export function line(r: RecordedRequest): string {
  const h = r.headers;
  const bits = [`${r.method} ${r.url} -> ${r.status}`];
  if (h['accept']) bits.push(`accept=[${h['accept']}]`);
  if (h['content-type']) bits.push(`ct=${h['content-type']}`);
  if (h['content-length']) bits.push(`len=${h['content-length']}`);
  if (h['transfer-encoding']) bits.push(`te=${h['transfer-encoding']}`);
  if (h['content-range']) bits.push(`range=${h['content-range']}`);
  if (h['range']) bits.push(`get-range=${h['range']}`);
  if (r.requestBytes && !h['content-length']) bits.push(`body=${r.requestBytes}`);
  if (r.responseHeaders['content-type']) bits.push(`res-ct=${r.responseHeaders['content-type']}`);
  if (r.manifest) {
    try {
      const mt = (JSON.parse(r.manifest.toString('utf8')) as { mediaType?: string }).mediaType;
      bits.push(`body.mediaType=${mt ?? '(absent)'}`);
    } catch {
      bits.push('body=(not JSON)');
    }
  }
  return bits.join(' ');
}

/** Starts a proxy to `targetUrl` (e.g. http://127.0.0.1:5000). `name` labels the trace. */
export async function startProxy(targetUrl: string, name: string): Promise<RecordingProxy> {
  const target = new URL(targetUrl);
  const requests: RecordedRequest[] = [];
  let phase = '';
  const server: Server = createServer((req, res) => {
    const recPhase = phase;
    let requestBytes = 0;
    const isManifestPut = req.method === 'PUT' && /\/manifests\/[^/]+$/.test((req.url ?? '').split('?')[0]!);
    const manifestChunks: Buffer[] = [];
    req.on('data', (b: Buffer) => {
      requestBytes += b.length;
      if (isManifestPut && requestBytes <= 4 * 1024 * 1024) manifestChunks.push(b);
    });
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        const url = req.url ?? '/';
        const parsed = new URL(url, 'http://x');
        requests.push({
          method: req.method ?? '?',
          url,
          path: parsed.pathname,
          query: parsed.searchParams,
          headers: pick(req.headers, INTERESTING),
          requestBytes,
          status: up.statusCode ?? 0,
          responseHeaders: pick(up.headers),
          phase: recPhase,
          ...(isManifestPut ? { manifest: Buffer.concat(manifestChunks) } : {}),
        });
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${e.message}`);
    });
    req.pipe(upstream);
  });
  // keep-alive connections from daemons would otherwise hold close() open
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: RecordingProxy = {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    mark(p) {
      phase = p;
    },
    inPhase(p) {
      return requests.filter((r) => r.phase === p);
    },
    summary(reqs = requests) {
      return reqs.map((r) => `[${r.phase}] ${line(r)}`).join('\n');
    },
    async stop() {
      const trace = process.env.WHARF_TEST_TRACE;
      if (trace) {
        const text = `==== ${name} (${requests.length} requests)\n${proxy.summary()}\n`;
        if (trace === '1') process.stderr.write(text);
        else appendFileSync(trace, text);
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** Cross-repository mount requests (POST .../blobs/uploads/?mount=D&from=R) in the list. */
export function mounts(reqs: RecordedRequest[]): { digest: string; from: string; to: string; status: number }[] {
  return reqs
    .filter((r) => r.method === 'POST' && r.query.has('mount'))
    .map((r) => ({
      digest: r.query.get('mount') ?? '',
      from: r.query.get('from') ?? '',
      to: r.path.replace(/^\/v2\//, '').replace(/\/blobs\/uploads\/?$/, ''),
      status: r.status,
    }));
}

/** Digests whose bytes were uploaded (PUT that completes an upload, with ?digest=). */
export function uploadedDigests(reqs: RecordedRequest[]): string[] {
  return reqs.filter((r) => r.method === 'PUT' && r.query.has('digest')).map((r) => r.query.get('digest')!);
}

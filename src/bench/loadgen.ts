// A closed-loop HTTP/1.1 load generator in its own process, for what wrk cannot do: wrk
// 4.1 waits for a body after a HEAD response that carries Content-Length (it never tells its
// parser the request was HEAD), so every HEAD benchmark hangs. This one speaks raw sockets
// with a minimal response parser: N keep-alive connections, each sending its next request
// when the previous response is complete, cycling through a list of requests; it records
// every latency and reports exact percentiles.
//
//   node dist/bench/loadgen.js '<json LoadSpec>'   -> prints a JSON LoadResult ('-': the spec on stdin)
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { percentileSorted } from './util.js';

export interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
}

export interface LoadSpec {
  host: string;
  port: number;
  connections: number;
  durationMs: number;
  requests: LoadRequest[];
}

export interface LoadResult {
  tool: 'loadgen' | 'wrk';
  requests: number;
  durationMs: number;
  rps: number;
  /** Responses with a status outside 200-399. */
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

function buildRequest(spec: LoadSpec, r: LoadRequest): Buffer {
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `Host: ${spec.host}:${spec.port}`, 'User-Agent: wharf-bench-loadgen'];
  for (const [k, v] of Object.entries(r.headers ?? {})) lines.push(`${k}: ${v}`);
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}

export async function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  const requests = spec.requests.map((r) => ({ head: r.method === 'HEAD', bytes: buildRequest(spec, r) }));
  let latencies = new Float64Array(1 << 20);
  let count = 0;
  let errors = 0;
  let non2xx = 0;
  const statuses: Record<string, number> = {};
  let nextRequest = 0;
  const start = performance.now();
  const deadline = start + spec.durationMs;
  let lastCompletion = start;

  const record = (ms: number, status: number) => {
    if (count === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[count++] = ms;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status < 200 || status > 399) non2xx++;
  };

  const runConnection = () =>
    new Promise<void>((resolve) => {
      let socket: Socket;
      let buf: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      let current = requests[0]!;
      // Parser state: 0 = headers, 1 = fixed-length body, 2 = chunked body
      let state = 0;
      let bodyLeft = 0;
      let status = 0;
      let finished = false;

      const finish = () => {
        if (finished) return;
        finished = true;
        socket.destroy();
        resolve();
      };
      const send = () => {
        if (performance.now() >= deadline) return finish();
        current = requests[nextRequest++ % requests.length]!;
        sentAt = performance.now();
        socket.write(current.bytes);
      };
      const complete = () => {
        const t = performance.now();
        if (t <= deadline) {
          record(t - sentAt, status);
          lastCompletion = t;
        }
        state = 0;
        send();
      };
      const open = () => {
        socket = connect({ host: spec.host, port: spec.port, noDelay: true });
        socket.on('connect', send);
        socket.on('data', onData);
        socket.on('error', () => {
          // counted on close
        });
        socket.on('close', () => {
          if (finished) return;
          // The server closed the connection (or it failed): count it and reconnect.
          errors++;
          buf = Buffer.alloc(0);
          state = 0;
          if (performance.now() >= deadline) finish();
          else setTimeout(open, 10);
        });
      };
      const onData = (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          if (state === 0) {
            const end = buf.indexOf(CRLFCRLF);
            if (end < 0) return;
            const head = buf.toString('latin1', 0, end);
            status = Number(head.slice(9, 12));
            buf = buf.subarray(end + 4);
            const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
            if (current.head || status === 204 || status === 304 || (status >= 100 && status < 200)) {
              bodyLeft = 0;
              state = 1;
            } else if (length) {
              bodyLeft = Number(length[1]);
              state = 1;
            } else if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
              state = 2;
            } else {
              errors++; // a body delimited by closing the connection: not supported
              socket.destroy();
              return;
            }
          }
          if (state === 1) {
            if (buf.length < bodyLeft) {
              bodyLeft -= buf.length;
              buf = Buffer.alloc(0);
              return;
            }
            buf = buf.subarray(bodyLeft);
            complete();
            if (finished) return;
            continue;
          }
          // chunked: size line, data, CRLF; a zero-size chunk then CRLF ends the body (no trailers expected)
          const lineEnd = buf.indexOf('\r\n');
          if (lineEnd < 0) return;
          const size = parseInt(buf.toString('latin1', 0, lineEnd), 16);
          if (size === 0) {
            if (buf.length < lineEnd + 4) return;
            buf = buf.subarray(lineEnd + 4);
            complete();
            if (finished) return;
            continue;
          }
          if (buf.length < lineEnd + 2 + size + 2) return;
          buf = buf.subarray(lineEnd + 2 + size + 2);
        }
      };
      open();
    });

  await Promise.all(Array.from({ length: spec.connections }, runConnection));
  const elapsed = Math.min(lastCompletion, deadline) - start;
  const sorted = latencies.subarray(0, count).sort();
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i]!;
  return {
    tool: 'loadgen',
    requests: count,
    durationMs: elapsed,
    rps: count / (elapsed / 1000),
    non2xx,
    errors,
    statuses,
    latencyMs: {
      p50: percentileSorted(sorted, 50),
      p90: percentileSorted(sorted, 90),
      p99: percentileSorted(sorted, 99),
      max: count > 0 ? sorted[count - 1]! : NaN,
      mean: count > 0 ? sum / count : NaN,
    },
  };
}

/** Runs the load generator in a child process (its own core), returns its result. */
export function runLoadgen(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    // The spec goes through stdin: thousands of request paths overflow an argv string (E2BIG).
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify(spec));
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`loadgen exited with ${code}`));
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch (err) {
        reject(new Error(`loadgen printed no result: ${String(err)}: ${out.slice(0, 200)}`));
      }
    });
  });
}

async function readSpec(arg: string): Promise<LoadSpec> {
  if (arg !== '-') return JSON.parse(arg) as LoadSpec;
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return JSON.parse(text) as LoadSpec;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2]) {
  readSpec(process.argv[2]).then(generateLoad).then(
    (result) => {
      process.stdout.write(JSON.stringify(result));
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`loadgen: ${String(err)}\n`);
      process.exit(1);
    },
  );
}

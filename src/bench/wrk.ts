// wrk (Debian package wrk 4.1) for GET request rates: a small Lua script sets the method
// and headers, --latency prints the distribution we take p50/p90/p99 from.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadResult } from './loadgen.js';
import { locateOrInstall, run } from './util.js';

export interface WrkSpec {
  url: string;
  method: 'GET';
  headers: Record<string, string>;
  connections: number;
  threads: number;
  durationMs: number;
  /** Where to write the Lua script. */
  scriptDir: string;
}

export async function runWrk(spec: WrkSpec, log: (msg: string) => void): Promise<LoadResult> {
  const wrk = locateOrInstall('wrk', 'wrk', log);
  const lua = [
    `wrk.method = ${JSON.stringify(spec.method)}`,
    ...Object.entries(spec.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
    '',
  ].join('\n');
  const script = join(spec.scriptDir, 'wrk-get.lua');
  await writeFile(script, lua);
  const seconds = Math.max(1, Math.round(spec.durationMs / 1000));
  const { stdout } = await run(wrk, [`-t${spec.threads}`, `-c${spec.connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s', '-s', script, spec.url], {
    timeoutMs: spec.durationMs + 60_000,
  });
  return parseWrk(stdout);
}

export function parseWrk(out: string): LoadResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const duration = (value: string | undefined) => {
    const m = /^([\d.]+)(us|ms|s|m)$/.exec(value ?? '');
    if (!m) return NaN;
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  };
  const pct = (p: number) => duration(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1]);
  const requests = num(/(\d+) requests in/);
  const elapsed = duration(/requests in ([\d.]+(?:us|ms|s|m)),/.exec(out)?.[1]);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const rps = num(/Requests\/sec:\s+([\d.]+)/);
  if (!Number.isFinite(rps)) throw new Error(`could not parse wrk output:\n${out}`);
  return {
    tool: 'wrk',
    requests,
    durationMs: elapsed,
    rps,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors,
    statuses: {},
    latencyMs: {
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      max: duration(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]),
      mean: duration(/Latency\s+(\S+)/.exec(out)?.[1]),
    },
  };
}

// Runs Wharf as a separate process from the built CLI (dist/, made by `npm test`'s pretest),
// for tests that kill it, signal it or measure its memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttp } from './net.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface WharfProcess {
  url: string;
  host: string;
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote to stdout (JSON logs) so far. */
  output(): string;
  /** Peak resident set size so far, from /proc (VmHWM), in bytes. */
  peakRss(): Promise<number>;
  /** SIGTERM and wait; resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnWharf(args: { dataDir: string; databaseUrl?: string; env?: Record<string, string>; flags?: string[] }): Promise<WharfProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--data-dir', args.dataDir, ...(args.databaseUrl ? ['--database-url', args.databaseUrl] : []), ...(args.flags ?? [])],
    { env: { ...process.env, WHARF_LOG_LEVEL: 'info', WHARF_AUTH: 'none', ...args.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`wharf did not start: ${String(err)}\n${out}`);
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    child,
    pid: child.pid!,
    output: () => out,
    async peakRss() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmHWM:\s+(\d+) kB/.exec(status);
      return kb ? Number(kb[1]) * 1024 : NaN;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

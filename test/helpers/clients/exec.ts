// Running real client binaries from tests: one-shot commands with a timeout, and
// long-running daemons (dockerd, containerd) that the test starts and stops by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** kill the command (SIGKILL) after this long; default 60 s */
  timeoutMs?: number;
  input?: string | Buffer;
  /** do not throw on a non-zero exit code */
  allowFailure?: boolean;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const MAX_OUTPUT_IN_ERROR = 20_000;

function tail(s: string): string {
  return s.length > MAX_OUTPUT_IN_ERROR ? `[...${s.length - MAX_OUTPUT_IN_ERROR} chars cut...]` + s.slice(-MAX_OUTPUT_IN_ERROR) : s;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
    reason: string,
  ) {
    super(`${command}: ${reason}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`);
    this.name = 'CommandError';
  }
}

function quote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs a command to completion, capturing stdout and stderr; throws with both on failure. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const printable = [cmd, ...args].map(quote).join(' ');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${printable}: could not start: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - started,
      };
      if (timedOut) reject(new CommandError(printable, result, `timed out after ${timeoutMs} ms`));
      else if (code !== 0 && !opts.allowFailure)
        reject(new CommandError(printable, result, `exited with ${code ?? signal}`));
      else resolve(result);
    });
  });
}

/** Absolute path of an executable on PATH (or a given absolute path that exists), else undefined. */
export function which(cmd: string): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin').split(delimiter)) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  for (const dir of ['/usr/sbin', '/sbin']) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The binaries among `cmds` that cannot be found, for describe.skipIf messages. */
export function missing(...cmds: string[]): string[] {
  return cmds.filter((c) => !which(c));
}

/** True when running as root (dockerd, containerd and rootful podman need it). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** All descendants of a process (children first, then their children), read from /proc. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const c of childrenOf(p)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Daemon {
  readonly pid: number;
  readonly name: string;
  readonly logFile: string;
  /** whether the process has exited */
  exited(): boolean;
  /** the daemon's log so far (for error messages) */
  log(): string;
  /** SIGTERM, wait up to graceMs, then SIGKILL; then SIGKILL any descendant still alive (by PID). */
  stop(graceMs?: number): Promise<void>;
}

const liveDaemons = new Set<Daemon>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if the worker exits without afterAll having run: kill what we started, by PID.
  process.once('exit', () => {
    for (const d of liveDaemons) {
      for (const pid of [...descendantsOf(d.pid), d.pid]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
}

/** Starts a long-running process with stdout+stderr going to logFile. */
export function startDaemon(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): Daemon {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${cmd}: could not start`);
  const pid = child.pid;
  let hasExited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      hasExited = true;
      resolve();
    });
    child.once('error', () => {
      hasExited = true;
      resolve();
    });
  });
  const daemon: Daemon = {
    pid,
    name: cmd,
    logFile: opts.logFile,
    exited: () => hasExited,
    log: () => {
      try {
        return readFileSync(opts.logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async stop(graceMs = 20_000) {
      // Remember the descendants before the parent goes away (they get re-parented).
      const seen = new Set(descendantsOf(pid));
      if (!hasExited) {
        child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
        if ((await Promise.race([exitPromise, timer])) === 'timeout') {
          for (const c of descendantsOf(pid)) seen.add(c);
          child.kill('SIGKILL');
          await exitPromise;
        }
      }
      // Give children a moment to exit on their own (dockerd stops its containerd), then force.
      const deadline = Date.now() + 5_000;
      while ([...seen].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      for (const c of seen) {
        if (alive(c)) {
          try {
            process.kill(c, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      liveDaemons.delete(daemon);
    },
  };
  liveDaemons.add(daemon);
  installExitHook();
  return daemon;
}

/** Polls `check` until it resolves true; throws with `describe()` after timeoutMs. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => string; abortIf?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const abort = opts.abortIf?.();
    if (abort) throw new Error(`gave up waiting for ${what}: ${abort}${opts.describe ? `\n${opts.describe()}` : ''}`);
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${opts.describe ? `\n${opts.describe()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

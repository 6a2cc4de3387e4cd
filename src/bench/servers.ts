// The servers under test, each a child process on a loopback port with a fresh data
// directory: the CNCF reference registry (docker-registry 2.8.2) and Wharf built in dist/,
// as one process and as `--workers 2`.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryClient } from './http.js';
import { descendants, freePort, locateOrInstall, memoryOf, run, sleep } from './util.js';

export type TargetId = 'reference' | 'wharf' | 'wharf-w2';

export const TARGETS: { id: TargetId; label: string }[] = [
  { id: 'reference', label: 'reference (distribution 2.8.2)' },
  { id: 'wharf', label: 'Wharf (1 process)' },
  { id: 'wharf-w2', label: 'Wharf (--workers 2)' },
];

export interface ProcessMemory {
  pid: number;
  role: string;
  /** VmHWM: the process's peak resident set size, bytes. */
  peak: number;
}

export interface Target {
  id: TargetId;
  label: string;
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, for image references */
  host: string;
  pid: number;
  dataDir: string;
  version: string;
  client: RegistryClient;
  /** Peak RSS of each process serving this target (the cluster primary and its workers). */
  memory(): ProcessMemory[];
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Parent of the servers' temporary data directories. */
  workDir: string;
  log: (msg: string) => void;
  /** Directory for `node --cpu-prof` profiles of Wharf (workers inherit the flag). */
  cpuProfDir?: string;
  /** A request whose connection stays idle this long fails (default 60 s). */
  requestTimeoutMs?: number;
  /** Wharf's cli/main.js to run (default: the one built next to this bench). */
  wharfMain?: string;
  /** Node.js options for Wharf instead of those its bin's `#!` line gives (an experiment's knob). */
  nodeFlags?: string[];
}

const here = dirname(fileURLToPath(import.meta.url));
/** dist/cli/main.js next to this file's dist/bench/. */
export const WHARF_MAIN = resolve(here, '..', 'cli', 'main.js');

export async function startTarget(id: TargetId, opts: StartOptions): Promise<Target> {
  if (id === 'reference') return startReference(opts);
  return startWharf(id, id === 'wharf-w2' ? 2 : 1, opts);
}

async function startReference(opts: StartOptions): Promise<Target> {
  const binary = locateOrInstall('docker-registry', 'docker-registry', opts.log);
  const version = (await run(binary, ['--version'])).stdout.trim();
  const dataDir = await mkdtemp(join(opts.workDir, 'reference-'));
  const port = await freePort();
  // Debian's shipped configuration (/etc/docker/registry/config.yml) minus auth and the
  // storage health check, with the access log off: its in-memory blob descriptor cache stays.
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  filesystem:',
    `    rootdirectory: ${join(dataDir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
  const configPath = join(dataDir, 'config.yml');
  await writeFile(configPath, config);
  const logPath = join(dataDir, 'server.log');
  const child = spawnLogged(binary, ['serve', configPath], { cwd: dataDir, logPath, env: process.env });
  return finishStart({ id: 'reference', timeoutMs: opts.requestTimeoutMs, child, port, dataDir, logPath, version, roles: () => [{ pid: child.pid!, role: 'registry' }] });
}

async function startWharf(id: TargetId, workers: number, opts: StartOptions): Promise<Target> {
  const main = resolve(opts.wharfMain ?? WHARF_MAIN);
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  const dataDir = await mkdtemp(join(opts.workDir, `${id}-`));
  const port = await freePort();
  const nodeFlags = opts.nodeFlags ?? shebangNodeFlags(main);
  const args = [
    ...nodeFlags,
    ...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(opts.cpuProfDir)] : []),
    main,
    'serve',
    '--listen',
    `127.0.0.1:${port}`,
    '--data-dir',
    join(dataDir, 'data'),
    '--log-level',
    'warn',
    ...(workers > 1 ? ['--workers', String(workers)] : []),
  ];
  // Embedded defaults: no WHARF_* from the caller's environment, and no wharf.yaml (cwd is fresh).
  // Access control off, as on the reference (which runs without auth): like for like. (The
  // environment, not --auth: builds from before the flag, which --wharf may point at, reject it.)
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHARF_'))), WHARF_AUTH: 'none' };
  const logPath = join(dataDir, 'server.log');
  const child = spawnLogged(process.execPath, args, { cwd: dataDir, logPath, env });
  const pkg = JSON.parse(readFileSync(resolve(dirname(main), '..', '..', 'package.json'), 'utf8')) as { version: string };
  const target = await finishStart({
    id,
    timeoutMs: opts.requestTimeoutMs,
    child,
    port,
    dataDir,
    logPath,
    version: `wharf ${pkg.version} (${[...nodeFlags, main].join(' ')})${workers > 1 ? ` --workers ${workers}` : ''}`,
    roles: () =>
      workers > 1
        ? [{ pid: child.pid!, role: 'primary' }, ...descendants(child.pid!).map((pid, i) => ({ pid, role: `worker ${i + 1}` }))]
        : [{ pid: child.pid!, role: 'process' }],
  });
  if (workers > 1) {
    // Every worker listens before the cluster counts as started.
    const deadline = Date.now() + 30_000;
    while (descendants(child.pid!).length < workers) {
      if (Date.now() > deadline) throw new Error(`${id}: ${workers} workers did not start (see ${logPath})`);
      await sleep(100);
    }
    await sleep(1500);
  }
  return target;
}

/**
 * The Node.js options in the bin's `#!/usr/bin/env -S node <options>` line: what `wharf serve`
 * and `npm start` run with, so the bench measures the process users get.
 */
export function shebangNodeFlags(main: string): string[] {
  const first = readFileSync(main, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node((?:\s+--\S+)*)\s*$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/).filter(Boolean) : [];
}

function spawnLogged(cmd: string, args: string[], o: { cwd: string; logPath: string; env: NodeJS.ProcessEnv }): ChildProcess {
  const fd = openSync(o.logPath, 'a');
  try {
    return spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

async function finishStart(s: {
  id: TargetId;
  timeoutMs: number | undefined;
  child: ChildProcess;
  port: number;
  dataDir: string;
  logPath: string;
  version: string;
  roles: () => { pid: number; role: string }[];
}): Promise<Target> {
  const url = `http://127.0.0.1:${s.port}`;
  const client = new RegistryClient(url, 64, s.timeoutMs ?? 60_000);
  let exited = false;
  const exit = new Promise<void>((r) => s.child.once('exit', () => ((exited = true), r())));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`${s.id} exited during start-up:\n${tail(s.logPath)}`);
    try {
      const res = await client.request('/v2/');
      if (res.status === 200) break;
      throw new Error(`/v2/ answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    } catch (err) {
      if (Date.now() > deadline) {
        s.child.kill('SIGKILL');
        throw new Error(`${s.id} did not answer on ${url} within 30 s: ${String(err)}\n${tail(s.logPath)}`);
      }
      await sleep(100);
    }
  }
  const label = TARGET_LABELS[s.id];
  const peaks = new Map<number, ProcessMemory>();
  const sample = () => {
    for (const { pid, role } of s.roles()) {
      const mem = memoryOf(pid);
      if (mem && Number.isFinite(mem.peak)) peaks.set(pid, { pid, role, peak: Math.max(mem.peak, peaks.get(pid)?.peak ?? 0) });
    }
  };
  // VmHWM is already a peak; sampling also catches a worker that is replaced mid-run.
  const sampler = setInterval(sample, 1000);
  sampler.unref();
  return {
    id: s.id,
    label,
    url,
    host: `127.0.0.1:${s.port}`,
    pid: s.child.pid!,
    dataDir: s.dataDir,
    version: s.version,
    client,
    memory() {
      sample();
      return [...peaks.values()];
    },
    async stop() {
      clearInterval(sampler);
      client.close();
      if (!exited) {
        s.child.kill('SIGTERM');
        const timer = setTimeout(() => s.child.kill('SIGKILL'), 40_000);
        await exit;
        clearTimeout(timer);
      }
      await rm(s.dataDir, { recursive: true, force: true });
    },
  };
}

const TARGET_LABELS = Object.fromEntries(TARGETS.map((t) => [t.id, t.label])) as Record<TargetId, string>;

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

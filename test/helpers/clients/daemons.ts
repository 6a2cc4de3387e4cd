// Private dockerd and containerd instances for the client tests: everything (data, state,
// sockets, logs) under a temp dir the test owns, started as root, stopped by PID.
import { request } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, startDaemon, waitFor, which, type Daemon, type RunOptions } from './exec.js';

function lastLines(text: string, n = 40): string {
  return text.split('\n').slice(-n).join('\n');
}

function ping(socketPath: string, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// dockerd

export interface Dockerd {
  daemon: Daemon;
  dir: string;
  socket: string;
  /** runs the docker CLI against this daemon */
  docker(args: string[], opts?: RunOptions): ReturnType<typeof run>;
  stop(): Promise<void>;
}

/**
 * The docker CLI: WHARF_TEST_DOCKER_CLI if set, else Debian's /usr/bin/docker that matches the
 * 20.10 engine (a newer CLI may come first on PATH), else whatever `docker` is on PATH.
 */
export function dockerCli(): string {
  return process.env.WHARF_TEST_DOCKER_CLI || (which('/usr/bin/docker') ?? 'docker');
}

export async function startDockerd(dir: string): Promise<Dockerd> {
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'docker.sock');
  const configFile = join(dir, 'daemon.json');
  // the trust key would otherwise be written to /etc/docker/key.json (config-file key only)
  await writeFile(configFile, JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }) + '\n');
  await mkdir(join(dir, 'cli-config'), { recursive: true });
  const daemon = startDaemon(
    'dockerd',
    [
      '--host',
      `unix://${socket}`,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      // keep it off the host's /etc/docker/daemon.json
      '--config-file',
      configFile,
      '--bridge',
      'none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-masq=false',
    ],
    { logFile: join(dir, 'dockerd.log') },
  );
  const cli = dockerCli();
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${socket}`,
    DOCKER_CONFIG: join(dir, 'cli-config'),
    DOCKER_BUILDKIT: '0',
    DOCKER_CLI_HINTS: 'false',
  };
  const d: Dockerd = {
    daemon,
    dir,
    socket,
    docker: (args, opts = {}) => run(cli, args, { env, ...opts }),
    stop: () => daemon.stop(30_000),
  };
  try {
    await waitFor(
      'dockerd to answer /_ping',
      () => ping(socket, '/_ping'),
      {
        timeoutMs: 90_000,
        intervalMs: 250,
        abortIf: () => (daemon.exited() ? 'dockerd exited' : undefined),
        describe: () => lastLines(daemon.log()),
      },
    );
  } catch (err) {
    await daemon.stop(10_000);
    throw err;
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// containerd

export interface Containerd {
  daemon: Daemon;
  dir: string;
  socket: string;
  /** runs `ctr --address SOCK --namespace wharf-test ARGS` */
  ctr(args: string[], opts?: RunOptions): ReturnType<typeof run>;
  stop(): Promise<void>;
}

export async function startContainerd(dir: string): Promise<Containerd> {
  await mkdir(dir, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins]',
      '  [plugins."io.containerd.internal.v1.opt"]',
      `    path = "${join(dir, 'opt')}"`,
      '',
    ].join('\n'),
  );
  const daemon = startDaemon('containerd', ['--config', config], { logFile: join(dir, 'containerd.log') });
  const c: Containerd = {
    daemon,
    dir,
    socket,
    ctr: (args, opts = {}) => run('ctr', ['--address', socket, '--namespace', 'wharf-test', ...args], opts),
    stop: () => daemon.stop(20_000),
  };
  try {
    await waitFor(
      'containerd to answer `ctr version`',
      async () => {
        const r = await run('ctr', ['--address', socket, 'version'], { timeoutMs: 5_000, allowFailure: true });
        return r.code === 0 && /Server:/.test(r.stdout);
      },
      {
        timeoutMs: 60_000,
        intervalMs: 250,
        abortIf: () => (daemon.exited() ? 'containerd exited' : undefined),
        describe: () => lastLines(daemon.log()),
      },
    );
  } catch (err) {
    await daemon.stop(10_000);
    throw err;
  }
  return c;
}

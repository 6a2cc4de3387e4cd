// podman and buildah with a private store: vfs storage under a temp dir, no host state
// (containers.conf, storage.conf, registries.conf and the libpod database all point there).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './exec.js';

export interface IsolatedStore {
  dir: string;
  /** environment for the tools: private registries.conf / storage.conf / containers.conf, TMPDIR */
  env: NodeJS.ProcessEnv;
  /** global flags selecting the private store */
  globalFlags: string[];
}

/**
 * Sets up a private store. `insecureHost` gets `insecure = true` in the private
 * registries.conf (in addition to the --tls-verify=false flags the tests pass).
 */
export async function isolatedStore(dir: string, insecureHost: string): Promise<IsolatedStore> {
  const root = join(dir, 'root');
  const runroot = join(dir, 'runroot');
  const tmp = join(dir, 'tmp');
  for (const d of [root, runroot, tmp]) await mkdir(d, { recursive: true });
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(
    registriesConf,
    ['unqualified-search-registries = []', '', '[[registry]]', `location = "${insecureHost}"`, 'insecure = true', ''].join('\n'),
  );
  const storageConf = join(dir, 'storage.conf');
  await writeFile(
    storageConf,
    ['[storage]', 'driver = "vfs"', `graphroot = "${root}"`, `runroot = "${runroot}"`, ''].join('\n'),
  );
  // podman stats REGISTRY_AUTH_FILE and fails if it is missing
  await writeFile(join(dir, 'auth.json'), '{"auths":{}}\n');
  const containersConf = join(dir, 'containers.conf');
  await writeFile(
    containersConf,
    [
      '[containers]',
      'netns = "none"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events.log')}"`,
      `tmp_dir = "${join(dir, 'libpod-tmp')}"`,
      `volume_path = "${join(dir, 'volumes')}"`,
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  return {
    dir,
    env: {
      ...process.env,
      CONTAINERS_REGISTRIES_CONF: registriesConf,
      CONTAINERS_STORAGE_CONF: storageConf,
      CONTAINERS_CONF: containersConf,
      REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
      TMPDIR: tmp,
    },
    globalFlags: ['--storage-driver', 'vfs', '--root', root, '--runroot', runroot],
  };
}

export function podman(store: IsolatedStore, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('podman', [...store.globalFlags, '--tmpdir', join(store.dir, 'libpod-tmp'), '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], {
    env: store.env,
    timeoutMs: 90_000,
    ...opts,
  });
}

export function buildah(store: IsolatedStore, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('buildah', [...store.globalFlags, ...args], { env: store.env, timeoutMs: 90_000, ...opts });
}

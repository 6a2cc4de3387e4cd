// Starts the CNCF reference registry (Debian package docker-registry) on a loopback port.
// Used to check that a test expresses the protocol and not a Wharf quirk.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForHttp } from './net.js';
import type { TestRegistry } from './wharf.js';

export async function startReference(): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-ref-'));
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log: { level: error, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
    `http: { addr: 127.0.0.1:${port} }`,
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/v2/`);
  return {
    url,
    host: `127.0.0.1:${port}`,
    dataDir: dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

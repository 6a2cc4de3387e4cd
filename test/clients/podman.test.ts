// podman 4.3 (containers/image, with its own containers-storage) against the registry: push,
// remove, pull back with the same image ID and manifest digest, run it; a second image sharing
// layers pushed to another repository (cross-repository mounts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, missing } from '../helpers/clients/exec.js';
import { startClientEnv, stopClientEnv, mountReport, type ClientEnv } from '../helpers/clients/env.js';
import { isolatedStore, podman, type IsolatedStore } from '../helpers/clients/containers-tools.js';
import { MT, busyboxLayer, dataLayer, image, layer, writeLayout } from '../helpers/clients/oci-layout.js';
import { blobExists, getManifest } from '../helpers/clients/registry.js';
import { uploadedDigests } from '../helpers/clients/proxy.js';

const absent = [...missing('podman'), ...(isRoot() ? [] : ['root'])];

describe.skipIf(absent.length > 0)(`podman${absent.length ? ` (skipped: needs ${absent.join(', ')})` : ''}`, () => {
  let env: ClientEnv | undefined;
  let store: IsolatedStore;
  let src: string;

  const bb = busyboxLayer();
  const shared = dataLayer('podman-shared', 512 * 1024);
  const app = image([bb, shared, layer([{ type: 'file', path: 'msg.txt', content: 'hello from podman app\n' }])], {
    cmd: ['/bin/busybox', 'cat', '/msg.txt'],
  });
  const other = image([bb, shared, layer([{ type: 'file', path: 'msg.txt', content: 'hello from podman other\n' }])], {
    cmd: ['/bin/busybox', 'cat', '/msg.txt'],
  });

  let appId: string;
  let appPushedDigest: string;
  let appLayers: string[];

  const p = (args: string[], timeoutMs?: number) => podman(store, args, timeoutMs ? { timeoutMs } : {});
  const inspect = async (ref: string, fmt: string) => (await p(['image', 'inspect', '--format', fmt, ref])).stdout.trim();

  beforeAll(async () => {
    env = await startClientEnv('podman');
    store = await isolatedStore(join(env.tmp, 'store'), env.host);
    src = join(env.tmp, 'layout');
    await writeLayout(src, { app, other });
  });

  afterAll(async () => {
    // podman leaves no daemon behind; the store (with vfs layers) goes with the temp dir
    await stopClientEnv(env);
  }, 120_000);

  it('pushes an image, removes it, pulls it back with the same image ID and digest, and runs it', async () => {
    const e = env!;
    const ref = `${e.host}/podman/app:v1`;
    // `pull -q` prints the image ID
    const id = (await p(['pull', '-q', `oci:${src}:app`])).stdout.trim().split('\n').pop()!;
    await p(['tag', id, ref]);
    appId = await inspect(ref, '{{.Id}}');
    // the image ID is the config digest, which podman keeps as it is
    expect(`sha256:${appId}`).toBe(app.config.digest);

    e.mark('push app');
    const digestFile = join(e.tmp, 'app.digest');
    await p(['push', '--tls-verify=false', '--digestfile', digestFile, ref]);
    appPushedDigest = (await readFile(digestFile, 'utf8')).trim();
    expect(appPushedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const m = await getManifest(e.url, 'podman/app', 'v1');
    expect(m.digest).toBe(appPushedDigest);
    expect(m.json.config.digest).toBe(app.config.digest);
    expect(m.json.layers).toHaveLength(3);
    appLayers = (m.json.layers as { digest: string }[]).map((l) => l.digest);
    expect([MT.ociManifest, MT.dockerManifest]).toContain(m.contentType);

    // the image also carries the name podman gave the oci: pull; remove everything
    await p(['rmi', '-a', '-f']);
    expect((await p(['images', '-q'])).stdout.trim()).toBe('');

    e.mark('pull app');
    await p(['pull', '--tls-verify=false', ref]);
    expect(await inspect(ref, '{{.Id}}')).toBe(appId);
    expect(await inspect(ref, '{{.Digest}}')).toBe(appPushedDigest);

    const hello = await p([
      'run',
      '--rm',
      '--network',
      'none',
      '--runtime',
      'runc',
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=1024:1024',
      ref,
    ]);
    expect(hello.stdout).toBe('hello from podman app\n');
  }, 180_000);

  it('pushes a second image sharing layers into another repository by mounting them', async () => {
    const e = env!;
    expect(appLayers, 'the first test pushed podman/app').toBeDefined();
    const ref = `${e.host}/podman/other:v1`;
    const id = (await p(['pull', '-q', `oci:${src}:other`])).stdout.trim().split('\n').pop()!;
    await p(['tag', id, ref]);

    e.mark('push other');
    const digestFile = join(e.tmp, 'other.digest');
    await p(['push', '--tls-verify=false', '--digestfile', digestFile, ref]);
    const pushed = (await readFile(digestFile, 'utf8')).trim();

    const m = await getManifest(e.url, 'podman/other', 'v1');
    expect(m.digest).toBe(pushed);
    const layers = (m.json.layers as { digest: string }[]).map((l) => l.digest);
    expect(layers.slice(0, 2)).toEqual(appLayers.slice(0, 2));
    for (const l of layers) expect(await blobExists(e.url, 'podman/other', l)).toBe(true);

    const report = mountReport(e, 'push other', 'podman/other');
    if (report.observed) {
      expect(report.succeeded, report.log).toEqual(expect.arrayContaining(appLayers.slice(0, 2)));
      const uploaded = uploadedDigests(e.phase('push other'));
      for (const l of appLayers.slice(0, 2)) expect(uploaded, report.log).not.toContain(l);
    }

    await p(['rmi', '-a', '-f']);
    await p(['pull', '--tls-verify=false', ref]);
    expect(await inspect(ref, '{{.Digest}}')).toBe(pushed);
    expect(`sha256:${await inspect(ref, '{{.Id}}')}`).toBe(other.config.digest);
  }, 180_000);
});

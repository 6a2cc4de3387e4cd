// umoci 0.4.7 writes OCI manifests WITHOUT a top-level `mediaType` field. skopeo pushes such a
// manifest byte for byte, so the registry must go by the Content-Type header; podman then pulls
// it back. This is how "a manifest without mediaType" reaches a registry from real tools.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, missing, run } from '../helpers/clients/exec.js';
import { startClientEnv, stopClientEnv, type ClientEnv } from '../helpers/clients/env.js';
import { isolatedStore, podman } from '../helpers/clients/containers-tools.js';
import { MT, layoutRef, readLayoutBlob, readLayoutBlobs } from '../helpers/clients/oci-layout.js';
import { getManifest } from '../helpers/clients/registry.js';

const absent = [...missing('umoci', 'skopeo'), ...(isRoot() ? [] : ['root'])];

describe.skipIf(absent.length > 0)(`umoci image via skopeo${absent.length ? ` (skipped: needs ${absent.join(', ')})` : ''}`, () => {
  let env: ClientEnv | undefined;
  let layout: string;
  let manifestDigest: string;
  let ref: string;

  const umoci = (args: string[]) => run('umoci', args, { timeoutMs: 60_000 });
  const skopeo = (args: string[]) => run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 60_000 });

  beforeAll(async () => {
    env = await startClientEnv('umoci');
    layout = join(env.tmp, 'layout');
    ref = `${env.host}/umoci/app:v1`;
    await umoci(['init', '--layout', layout]);
    await umoci(['new', '--image', `${layout}:v1`]);
    // layer 1: busybox
    const b1 = join(env.tmp, 'bundle1');
    await umoci(['unpack', '--rootless', '--image', `${layout}:v1`, b1]);
    await mkdir(join(b1, 'rootfs', 'bin'), { recursive: true });
    await copyFile('/usr/bin/busybox', join(b1, 'rootfs', 'bin', 'busybox'));
    await umoci(['repack', '--image', `${layout}:v1`, b1]);
    // layer 2: a message
    const b2 = join(env.tmp, 'bundle2');
    await umoci(['unpack', '--rootless', '--image', `${layout}:v1`, b2]);
    await writeFile(join(b2, 'rootfs', 'msg.txt'), 'hello from umoci\n');
    await umoci(['repack', '--image', `${layout}:v1`, b2]);
    await umoci(['config', '--image', `${layout}:v1`, '--config.cmd', '/bin/busybox', '--config.cmd', 'cat', '--config.cmd', '/msg.txt']);
    await umoci(['gc', '--layout', layout]);
    manifestDigest = (await layoutRef(layout, 'v1')).digest;
  }, 120_000);

  afterAll(async () => {
    await stopClientEnv(env);
  }, 120_000);

  it('umoci writes a manifest without mediaType, and skopeo pushes and pulls it byte-identical', async () => {
    const e = env!;
    const local = JSON.parse((await readLayoutBlob(layout, manifestDigest)).toString('utf8'));
    expect(local.mediaType, 'umoci 0.4.7 omits mediaType').toBeUndefined();
    expect(local.layers).toHaveLength(2);

    e.mark('skopeo push');
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${ref}`]);
    if (e.proxy) {
      const put = e.phase('skopeo push').find((r) => r.method === 'PUT' && r.path === '/v2/umoci/app/manifests/v1');
      expect(put?.headers['content-type']).toBe(MT.ociManifest);
      expect(JSON.parse(put!.manifest!.toString('utf8')).mediaType).toBeUndefined();
    }

    const m = await getManifest(e.url, 'umoci/app', 'v1');
    expect(m.digest).toBe(manifestDigest);
    expect(m.contentType).toBe(MT.ociManifest);
    expect(m.json.mediaType).toBeUndefined();

    const out = join(e.tmp, 'out');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${out}:v1`]);
    expect((await layoutRef(out, 'v1')).digest).toBe(manifestDigest);
    const want = await readLayoutBlobs(layout);
    const got = await readLayoutBlobs(out);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [d, data] of want) expect(got.get(d)!.equals(data), d).toBe(true);
  });

  it.skipIf(missing('podman').length > 0)('podman pulls the mediaType-less manifest and runs the image', async () => {
    const e = env!;
    expect(manifestDigest).toBeDefined();
    const store = await isolatedStore(join(e.tmp, 'podman'), e.host);
    await podman(store, ['pull', '--tls-verify=false', ref]);
    expect((await podman(store, ['image', 'inspect', '--format', '{{.Digest}}', ref])).stdout.trim()).toBe(manifestDigest);
    const out = await podman(store, [
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
    expect(out.stdout).toBe('hello from umoci\n');
  }, 120_000);
});

// containerd 1.6 (ctr) against the registry: pull a two-platform index (pushed with skopeo from
// an OCI layout), tag it into another repository and push it there (shared blobs mounted);
// skopeo then sees the same digests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { isRoot, missing, run } from '../helpers/clients/exec.js';
import { startContainerd, type Containerd } from '../helpers/clients/daemons.js';
import { startClientEnv, stopClientEnv, mountReport, type ClientEnv } from '../helpers/clients/env.js';
import { MT, allBlobs, busyboxLayer, dataLayer, image, index, writeLayout } from '../helpers/clients/oci-layout.js';
import { blobExists, getManifest } from '../helpers/clients/registry.js';
import { uploadedDigests } from '../helpers/clients/proxy.js';

const absent = [...missing('containerd', 'ctr', 'skopeo'), ...(isRoot() ? [] : ['root'])];

describe.skipIf(absent.length > 0)(`containerd (ctr)${absent.length ? ` (skipped: needs ${absent.join(', ')})` : ''}`, () => {
  let env: ClientEnv | undefined;
  let containerd: Containerd | undefined;
  let multiRef: string;
  let copyRef: string;

  const amd64 = image([busyboxLayer(), dataLayer('ctr-amd64', 128 * 1024)], {
    platform: { architecture: 'amd64', os: 'linux' },
    cmd: ['/bin/busybox', 'echo', 'hello'],
  });
  const arm64 = image([dataLayer('ctr-arm64-base', 96 * 1024), dataLayer('ctr-arm64', 64 * 1024)], {
    platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
  });
  const multi = index([amd64, arm64]);

  const skopeoInspectRaw = async (ref: string) =>
    Buffer.from((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout);

  beforeAll(async () => {
    env = await startClientEnv('containerd');
    const layout = join(env.tmp, 'layout');
    await writeLayout(layout, { multi });
    multiRef = `${env.host}/containerd/multi:v1`;
    copyRef = `${env.host}/containerd/copy:v1`;
    env.mark('skopeo seed');
    await run('skopeo', ['--insecure-policy', 'copy', '--all', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${multiRef}`]);
    containerd = await startContainerd(join(env.tmp, 'containerd'));
  }, 180_000);

  afterAll(async () => {
    await stopClientEnv(env, () => containerd?.stop());
  }, 120_000);

  it('pulls a two-platform index with every platform', async () => {
    const e = env!;
    const c = containerd!;
    e.mark('ctr pull');
    await c.ctr(['images', 'pull', '--plain-http', '--all-platforms', multiRef], { timeoutMs: 120_000 });

    // `ctr images ls -q` lists names; the target digest is in the full listing
    const ls = (await c.ctr(['images', 'ls'])).stdout;
    const row = ls.split('\n').find((l) => l.startsWith(multiRef + ' '));
    expect(row, ls).toBeDefined();
    expect(row).toContain(MT.ociIndex);
    expect(row).toContain(multi.index.digest);
    expect(row).toMatch(/linux\/amd64/);
    expect(row).toMatch(/linux\/arm64/);

    // every blob of both platforms is in containerd's content store
    const content = (await c.ctr(['content', 'ls', '-q'])).stdout.split('\n').map((s) => s.trim());
    for (const d of allBlobs(multi).keys()) expect(content, d).toContain(d);
    const check = (await c.ctr(['images', 'check'])).stdout;
    expect(check.split('\n').find((l) => l.startsWith(multiRef + ' '))).toMatch(/complete/);

    // the amd64 image was unpacked and runs
    const hello = await c.ctr(['run', '--rm', multiRef, 'wharf-hello', '/bin/busybox', 'echo', 'hello'], { timeoutMs: 60_000 });
    expect(hello.stdout).toBe('hello\n');

    // containerd asks for the index by tag first, with an Accept list that includes it
    if (e.proxy) {
      const first = e.phase('ctr pull').find((r) => r.path === '/v2/containerd/multi/manifests/v1');
      expect(first?.headers['accept'] ?? '', e.proxy.summary(e.phase('ctr pull'))).toContain(MT.ociIndex);
    }
  }, 180_000);

  it('tags the index into another repository and pushes it, mounting shared blobs', async () => {
    const e = env!;
    const c = containerd!;
    await c.ctr(['images', 'tag', multiRef, copyRef]);
    e.mark('ctr push');
    await c.ctr(['images', 'push', '--plain-http', copyRef], { timeoutMs: 120_000 });

    // the registry holds the same index and manifests, byte for byte
    const raw = await skopeoInspectRaw(copyRef);
    expect(raw.equals(multi.index.data)).toBe(true);
    const m = await getManifest(e.url, 'containerd/copy', 'v1');
    expect(m.digest).toBe(multi.index.digest);
    expect(m.contentType).toBe(MT.ociIndex);
    for (const img of multi.images) {
      const child = await skopeoInspectRaw(`${e.host}/containerd/copy@${img.manifest.digest}`);
      expect(child.equals(img.manifest.data)).toBe(true);
    }
    for (const img of multi.images) {
      for (const b of [img.config, ...img.layers]) expect(await blobExists(e.url, 'containerd/copy', b.digest), b.digest).toBe(true);
    }

    // skopeo resolves the arm64 entry of the same index (Digest is the index's, as pulled by tag)
    const info = JSON.parse(
      (await run('skopeo', ['inspect', '--tls-verify=false', '--override-arch', 'arm64', '--override-variant', 'v8', `docker://${copyRef}`]))
        .stdout,
    ) as { Digest: string; Layers: string[] };
    expect(info.Digest).toBe(multi.index.digest);
    expect(info.Layers).toEqual(arm64.layers.map((l) => l.digest));

    const report = mountReport(e, 'ctr push', 'containerd/copy');
    if (report.observed) {
      // containerd remembers where each blob came from and mounts it from there
      const layerDigests = multi.images.flatMap((img) => img.layers.map((l) => l.digest));
      expect(report.succeeded, report.log).toEqual(expect.arrayContaining(layerDigests));
      const uploaded = uploadedDigests(e.phase('ctr push'));
      for (const d of layerDigests) expect(uploaded, report.log).not.toContain(d);
    }
  }, 180_000);
});

// skopeo (containers/image) against the registry: OCI layout -> registry -> OCI layout,
// byte-identical by digest, for a multi-layer image and a two-platform index; inspect,
// list-tags, and cross-repository mounts for a second image sharing layers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { missing, run } from '../helpers/clients/exec.js';
import { startClientEnv, stopClientEnv, mountReport, type ClientEnv } from '../helpers/clients/env.js';
import {
  MT,
  allBlobs,
  busyboxLayer,
  dataLayer,
  image,
  index,
  layer,
  layoutRef,
  readLayoutBlobs,
  writeLayout,
  type Image,
  type Index,
} from '../helpers/clients/oci-layout.js';
import { blobExists, getManifest, listTags } from '../helpers/clients/registry.js';
import { uploadedDigests } from '../helpers/clients/proxy.js';

const absent = missing('skopeo');

function skopeo(args: string[], timeoutMs = 60_000) {
  return run('skopeo', ['--insecure-policy', ...args], { timeoutMs });
}

/** Everything the layout at `dir` holds must be exactly the blobs of `x`, byte for byte. */
async function expectLayoutHolds(dir: string, tag: string, x: Image | Index) {
  const want = allBlobs(x);
  const top = x.kind === 'image' ? x.manifest : x.index;
  const ref = await layoutRef(dir, tag);
  expect(ref.digest).toBe(top.digest);
  expect(ref.mediaType).toBe(top.mediaType);
  expect(ref.size).toBe(top.size);
  const got = await readLayoutBlobs(dir);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [digest, b] of want) expect(got.get(digest)!.equals(b.data), digest).toBe(true);
}

describe.skipIf(absent.length > 0)(`skopeo${absent.length ? ` (skipped: ${absent.join(', ')} not installed)` : ''}`, () => {
  let env: ClientEnv | undefined;
  let src: string;

  // A three-layer image, a second image sharing two of its layers, and a two-platform index.
  const bb = busyboxLayer();
  const shared = dataLayer('shared', 768 * 1024);
  const app = image([bb, shared, dataLayer('app', 96 * 1024)], { labels: { 'wharf.test': 'app' } });
  const other = image([bb, shared, layer([{ type: 'file', path: 'etc/other', content: 'other\n' }])], {
    labels: { 'wharf.test': 'other' },
  });
  const amd64 = image([bb, dataLayer('amd64', 64 * 1024)], { platform: { architecture: 'amd64', os: 'linux' } });
  const arm64 = image([dataLayer('arm64-base', 80 * 1024), dataLayer('arm64', 64 * 1024)], {
    platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
  });
  const multi = index([amd64, arm64]);

  beforeAll(async () => {
    env = await startClientEnv('skopeo');
    src = join(env.tmp, 'src');
    await writeLayout(src, { app, other, multi });
  });

  afterAll(async () => {
    await stopClientEnv(env);
  });

  it('copies a multi-layer OCI layout image in and back out, byte-identical', async () => {
    const e = env!;
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:app`, `docker://${e.host}/skopeo/app:v1`]);

    const m = await getManifest(e.url, 'skopeo/app', 'v1');
    expect(m.digest).toBe(app.manifest.digest);
    expect(m.digestHeader).toBe(app.manifest.digest);
    expect(m.contentType).toBe(MT.ociManifest);
    expect(m.body.equals(app.manifest.data)).toBe(true);
    for (const b of [app.config, ...app.layers]) expect(await blobExists(e.url, 'skopeo/app', b.digest)).toBe(true);

    const out = join(e.tmp, 'out-app');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${e.host}/skopeo/app:v1`, `oci:${out}:v1`]);
    await expectLayoutHolds(out, 'v1', app);

    // by digest as well as by tag
    const outByDigest = join(e.tmp, 'out-app-digest');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${e.host}/skopeo/app@${app.manifest.digest}`, `oci:${outByDigest}:d`]);
    await expectLayoutHolds(outByDigest, 'd', app);
  });

  it('copies a two-platform index with --all in and back out, byte-identical', async () => {
    const e = env!;
    await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${src}:multi`, `docker://${e.host}/skopeo/multi:v1`]);

    const m = await getManifest(e.url, 'skopeo/multi', 'v1');
    expect(m.digest).toBe(multi.index.digest);
    expect(m.contentType).toBe(MT.ociIndex);
    for (const img of multi.images) {
      const child = await getManifest(e.url, 'skopeo/multi', img.manifest.digest);
      expect(child.digest).toBe(img.manifest.digest);
      expect(child.contentType).toBe(MT.ociManifest);
    }

    const out = join(e.tmp, 'out-multi');
    await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${e.host}/skopeo/multi:v1`, `oci:${out}:v1`]);
    await expectLayoutHolds(out, 'v1', multi);

    // without --all skopeo picks one platform out of the index
    const outOne = join(e.tmp, 'out-multi-arm64');
    await skopeo([
      'copy',
      '--override-arch',
      'arm64',
      '--override-variant',
      'v8',
      '--src-tls-verify=false',
      `docker://${e.host}/skopeo/multi:v1`,
      `oci:${outOne}:arm64`,
    ]);
    await expectLayoutHolds(outOne, 'arm64', arm64);
  });

  it('inspect --raw returns the stored manifest and index bytes', async () => {
    const e = env!;
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${e.host}/skopeo/app:v1`]);
    expect(Buffer.from(raw.stdout).equals(app.manifest.data)).toBe(true);

    const rawIndex = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${e.host}/skopeo/multi:v1`]);
    expect(Buffer.from(rawIndex.stdout).equals(multi.index.data)).toBe(true);

    const info = JSON.parse(
      (await skopeo(['inspect', '--tls-verify=false', `docker://${e.host}/skopeo/app:v1`])).stdout,
    ) as { Digest: string; Layers: string[]; Labels: Record<string, string>; Architecture: string; Os: string };
    expect(info.Digest).toBe(app.manifest.digest);
    expect(info.Layers).toEqual(app.layers.map((l) => l.digest));
    expect(info.Labels).toEqual({ 'wharf.test': 'app' });
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');

    const cfg = await skopeo(['inspect', '--config', '--raw', '--tls-verify=false', `docker://${e.host}/skopeo/app:v1`]);
    expect(Buffer.from(cfg.stdout).equals(app.config.data)).toBe(true);
  });

  it('list-tags lists every tag of a repository', async () => {
    const e = env!;
    // registry -> registry copy to a second tag (same repository)
    await skopeo([
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${e.host}/skopeo/app:v1`,
      `docker://${e.host}/skopeo/app:v2`,
    ]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:other`, `docker://${e.host}/skopeo/app:other`]);
    const tags = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', `docker://${e.host}/skopeo/app`])).stdout) as {
      Repository: string;
      Tags: string[];
    };
    expect(tags.Repository).toBe(`${e.host}/skopeo/app`);
    expect(tags.Tags.slice().sort()).toEqual(['other', 'v1', 'v2']);
    expect(await listTags(e.url, 'skopeo/app')).toEqual(['other', 'v1', 'v2']);
    expect((await getManifest(e.url, 'skopeo/app', 'v2')).digest).toBe(app.manifest.digest);
  });

  it('mounts shared layers when pushing a second image into another repository', async () => {
    const e = env!;
    e.mark('mount');
    const res = await skopeo(['--debug', 'copy', '--dest-tls-verify=false', `oci:${src}:other`, `docker://${e.host}/skopeo/other:v1`]);
    // skopeo finds the shared layers in its blob-info cache (it pushed them to skopeo/app) and
    // tries a cross-repository mount first
    expect(res.stderr).toMatch(/Trying to mount/);

    const report = mountReport(e, 'mount', 'skopeo/other');
    if (report.observed) {
      const sharedDigests = [bb.digest, shared.digest];
      expect(report.succeeded.sort(), report.log).toEqual(expect.arrayContaining(sharedDigests.sort()));
      // the shared layers were not uploaded again
      const uploaded = uploadedDigests(e.phase('mount'));
      for (const d of sharedDigests) expect(uploaded, report.log).not.toContain(d);
    }
    for (const b of [other.config, ...other.layers]) expect(await blobExists(e.url, 'skopeo/other', b.digest)).toBe(true);

    const out = join(e.tmp, 'out-other');
    await skopeo(['copy', '--src-tls-verify=false', `docker://${e.host}/skopeo/other:v1`, `oci:${out}:v1`]);
    await expectLayoutHolds(out, 'v1', other);
  });
});

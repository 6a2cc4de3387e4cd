// buildah 1.28 against the registry: from scratch, copy, commit, push, pull back (same image
// ID and digest, same file bytes); a second image built on the pulled one pushed to another
// repository in Docker schema2 format, with the shared layers mounted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, missing } from '../helpers/clients/exec.js';
import { startClientEnv, stopClientEnv, mountReport, type ClientEnv } from '../helpers/clients/env.js';
import { buildah, isolatedStore, type IsolatedStore } from '../helpers/clients/containers-tools.js';
import { MT, busybox, pseudoRandom } from '../helpers/clients/oci-layout.js';
import { blobExists, getManifest } from '../helpers/clients/registry.js';
import { uploadedDigests } from '../helpers/clients/proxy.js';

const absent = [...missing('buildah'), ...(isRoot() ? [] : ['root'])];

describe.skipIf(absent.length > 0)(`buildah${absent.length ? ` (skipped: needs ${absent.join(', ')})` : ''}`, () => {
  let env: ClientEnv | undefined;
  let store: IsolatedStore;
  let files: string;
  let appRef: string;
  let appId: string;
  let appLayers: string[];

  const b = async (args: string[]) => (await buildah(store, args)).stdout.trim();

  beforeAll(async () => {
    env = await startClientEnv('buildah');
    store = await isolatedStore(join(env.tmp, 'store'), env.host);
    files = env.tmp;
    await writeFile(join(files, 'shared.bin'), pseudoRandom('buildah-shared', 384 * 1024));
    await writeFile(join(files, 'other.txt'), 'hello from buildah other\n');
    appRef = `${env.host}/buildah/app:v1`;
  });

  afterAll(async () => {
    await stopClientEnv(env);
  }, 120_000);

  it('builds from scratch, commits, pushes, and pulls back the same image', async () => {
    const e = env!;
    // two commits, so the image has two layers: busybox, then a data file
    const base = await b(['from', 'scratch']);
    await b(['copy', base, '/usr/bin/busybox', '/bin/busybox']);
    await b(['commit', '-q', base, 'localhost/buildah-base:latest']);
    await b(['rm', base]);
    const ctr = await b(['from', '--pull-never', 'localhost/buildah-base:latest']);
    await b(['copy', ctr, join(files, 'shared.bin'), '/data/shared.bin']);
    await b(['config', '--cmd', '/bin/busybox echo hello', '--env', 'PATH=/bin', ctr]);
    appId = await b(['commit', '-q', ctr, appRef]);
    await b(['rm', ctr]);
    expect(appId).toMatch(/^[0-9a-f]{64}$/);

    e.mark('push app');
    const digestFile = join(e.tmp, 'app.digest');
    await b(['push', '--tls-verify=false', '--digestfile', digestFile, appRef, `docker://${appRef}`]);
    const pushed = (await readFile(digestFile, 'utf8')).trim();

    const m = await getManifest(e.url, 'buildah/app', 'v1');
    expect(m.digest).toBe(pushed);
    expect(m.contentType).toBe(MT.ociManifest);
    expect(m.json.config.digest).toBe(`sha256:${appId}`);
    appLayers = (m.json.layers as { digest: string }[]).map((l) => l.digest);
    expect(appLayers).toHaveLength(2);

    await b(['rmi', '-a', '-f']);
    expect(await b(['images', '-q'])).toBe('');

    e.mark('pull app');
    await b(['pull', '--tls-verify=false', `docker://${appRef}`]);
    expect(await b(['images', '-q', '--no-trunc', appRef])).toBe(`sha256:${appId}`);
    expect(await b(['inspect', '--type', 'image', '--format', '{{.FromImageDigest}}', appRef])).toBe(pushed);

    // the files came back byte for byte
    const check = await b(['from', '--pull-never', appRef]);
    const mnt = await b(['mount', check]);
    expect((await readFile(join(mnt, 'bin', 'busybox'))).equals(busybox())).toBe(true);
    expect((await readFile(join(mnt, 'data', 'shared.bin'))).equals(pseudoRandom('buildah-shared', 384 * 1024))).toBe(true);
    await b(['umount', check]);
    await b(['rm', check]);
  }, 180_000);

  it('pushes an image built on the pulled one to another repository (schema2), mounting shared layers', async () => {
    const e = env!;
    expect(appLayers, 'the first test pushed buildah/app').toBeDefined();
    const otherRef = `${e.host}/buildah/other:v1`;
    const ctr = await b(['from', '--pull-never', appRef]);
    await b(['copy', ctr, join(files, 'other.txt'), '/msg.txt']);
    await b(['commit', '-q', '--format', 'docker', ctr, otherRef]);
    await b(['rm', ctr]);

    e.mark('push other');
    const digestFile = join(e.tmp, 'other.digest');
    await b(['push', '--tls-verify=false', '--format', 'v2s2', '--digestfile', digestFile, otherRef, `docker://${otherRef}`]);
    const pushed = (await readFile(digestFile, 'utf8')).trim();

    const m = await getManifest(e.url, 'buildah/other', 'v1');
    expect(m.digest).toBe(pushed);
    expect(m.contentType).toBe(MT.dockerManifest);
    const layers = (m.json.layers as { digest: string }[]).map((l) => l.digest);
    expect(layers.slice(0, appLayers.length)).toEqual(appLayers);
    expect(layers).toHaveLength(appLayers.length + 1);
    for (const l of layers) expect(await blobExists(e.url, 'buildah/other', l)).toBe(true);

    const report = mountReport(e, 'push other', 'buildah/other');
    if (report.observed) {
      expect(report.succeeded, report.log).toEqual(expect.arrayContaining(appLayers));
      const uploaded = uploadedDigests(e.phase('push other'));
      for (const l of appLayers) expect(uploaded, report.log).not.toContain(l);
    }

    await b(['rmi', '-a', '-f']);
    await b(['pull', '--tls-verify=false', `docker://${otherRef}`]);
    expect(await b(['inspect', '--type', 'image', '--format', '{{.FromImageDigest}}', otherRef])).toBe(pushed);
    const check = await b(['from', '--pull-never', otherRef]);
    const mnt = await b(['mount', check]);
    expect(await readFile(join(mnt, 'msg.txt'), 'utf8')).toBe('hello from buildah other\n');
    await b(['umount', check]);
    await b(['rm', check]);
  }, 180_000);
});

// The docker engine (dockerd 20.10, legacy builder) against the registry: build FROM scratch,
// push, remove locally, pull, run; then a second image sharing layers pushed to another
// repository, which docker does by cross-repository mounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, missing } from '../helpers/clients/exec.js';
import { startDockerd, type Dockerd } from '../helpers/clients/daemons.js';
import { startClientEnv, stopClientEnv, mountReport, type ClientEnv } from '../helpers/clients/env.js';
import { busybox, MT, pseudoRandom } from '../helpers/clients/oci-layout.js';
import { blobExists, getBlob, getManifest } from '../helpers/clients/registry.js';
import { uploadedDigests } from '../helpers/clients/proxy.js';

const absent = [...missing('dockerd', 'docker'), ...(isRoot() ? [] : ['root'])];

/** `docker push` ends with "TAG: digest: sha256:... size: N". */
function pushedDigest(out: string): string {
  const m = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(out);
  if (!m) throw new Error(`no digest in docker push output:\n${out}`);
  return m[1]!;
}

describe.skipIf(absent.length > 0)(`docker engine${absent.length ? ` (skipped: needs ${absent.join(', ')})` : ''}`, () => {
  let env: ClientEnv | undefined;
  let dockerd: Dockerd | undefined;
  let ctx: string;
  let appRef: string;
  let otherRef: string;
  let appDigest: string;
  let appLayers: string[];

  beforeAll(async () => {
    env = await startClientEnv('docker');
    ctx = join(env.tmp, 'context');
    await mkdir(ctx);
    await writeFile(join(ctx, 'busybox'), busybox(), { mode: 0o755 });
    await writeFile(join(ctx, 'shared.bin'), pseudoRandom('docker-shared', 640 * 1024));
    await writeFile(join(ctx, 'app.txt'), 'hello from app\n');
    await writeFile(join(ctx, 'other.txt'), 'hello from other\n');
    appRef = `${env.host}/docker/app:v1`;
    otherRef = `${env.host}/docker/other:v1`;
    await writeFile(
      join(ctx, 'Dockerfile.app'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'COPY shared.bin /data/shared.bin',
        'COPY app.txt /msg.txt',
        'ENV PATH=/bin',
        'CMD ["/bin/busybox", "cat", "/msg.txt"]',
        '',
      ].join('\n'),
    );
    // The second image is built on the first one as pulled back from the registry, so its
    // three layers are shared (docker knows they came from docker/app and mounts them).
    await writeFile(join(ctx, 'Dockerfile.other'), [`FROM ${appRef}`, 'COPY other.txt /msg.txt', ''].join('\n'));
    dockerd = await startDockerd(join(env.tmp, 'dockerd'));
  }, 180_000);

  afterAll(async () => {
    await stopClientEnv(env, () => dockerd?.stop());
  }, 120_000);

  it('builds an image, pushes it, removes it locally, pulls it back and runs it', async () => {
    const e = env!;
    const d = dockerd!;
    await d.docker(['build', '-f', join(ctx, 'Dockerfile.app'), '-t', appRef, ctx], { timeoutMs: 90_000 });

    e.mark('push app');
    const push = await d.docker(['push', appRef], { timeoutMs: 90_000 });
    appDigest = pushedDigest(push.stdout);

    // what landed in the registry: a Docker schema2 manifest with three layers
    const m = await getManifest(e.url, 'docker/app', 'v1');
    expect(m.digest).toBe(appDigest);
    expect(m.contentType).toBe(MT.dockerManifest);
    expect(m.json.mediaType).toBe(MT.dockerManifest);
    expect(m.json.layers).toHaveLength(3);
    appLayers = (m.json.layers as { digest: string; mediaType: string }[]).map((l) => l.digest);
    for (const l of m.json.layers as { mediaType: string }[]) expect(l.mediaType).toBe(MT.dockerLayerGzip);
    const config = JSON.parse((await getBlob(e.url, 'docker/app', m.json.config.digest as string)).toString('utf8'));
    expect(config.config.Cmd).toEqual(['/bin/busybox', 'cat', '/msg.txt']);
    expect(config.rootfs.diff_ids).toHaveLength(3);

    const imageId = (await d.docker(['image', 'inspect', '--format', '{{.Id}}', appRef])).stdout.trim();
    expect(imageId).toBe(m.json.config.digest);

    // remove it locally: it must come from the registry now
    await d.docker(['rmi', appRef]);
    const gone = await d.docker(['image', 'inspect', appRef], { allowFailure: true });
    expect(gone.code).not.toBe(0);

    e.mark('pull app');
    const pull = await d.docker(['pull', appRef], { timeoutMs: 90_000 });
    expect(pull.stdout).toContain(`Digest: ${appDigest}`);
    expect((await d.docker(['image', 'inspect', '--format', '{{.Id}}', appRef])).stdout.trim()).toBe(imageId);
    const repoDigests = (await d.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', appRef])).stdout;
    expect(JSON.parse(repoDigests)).toContain(`${e.host}/docker/app@${appDigest}`);

    const hello = await d.docker(['run', '--network', 'none', '--rm', appRef, '/bin/busybox', 'echo', 'hello'], { timeoutMs: 60_000 });
    expect(hello.stdout).toBe('hello\n');
    const msg = await d.docker(['run', '--network', 'none', '--rm', appRef], { timeoutMs: 60_000 });
    expect(msg.stdout).toBe('hello from app\n');
  }, 240_000);

  it('pushes a second image sharing layers into another repository by mounting them', async () => {
    const e = env!;
    const d = dockerd!;
    expect(appLayers, 'the first test pushed docker/app').toBeDefined();
    await d.docker(['build', '-f', join(ctx, 'Dockerfile.other'), '-t', otherRef, ctx], { timeoutMs: 90_000 });

    e.mark('push other');
    const push = await d.docker(['push', otherRef], { timeoutMs: 90_000 });
    const otherDigest = pushedDigest(push.stdout);
    // docker reports mounted layers as "Mounted from docker/app"
    expect(push.stdout).toMatch(/Mounted from docker\/app/);

    const m = await getManifest(e.url, 'docker/other', 'v1');
    expect(m.digest).toBe(otherDigest);
    const layers = (m.json.layers as { digest: string }[]).map((l) => l.digest);
    expect(layers).toHaveLength(4);
    expect(layers.slice(0, 3)).toEqual(appLayers);
    for (const l of layers) expect(await blobExists(e.url, 'docker/other', l)).toBe(true);

    const report = mountReport(e, 'push other', 'docker/other');
    if (report.observed) {
      expect(report.succeeded, report.log).toEqual(expect.arrayContaining(appLayers));
      const uploaded = uploadedDigests(e.phase('push other'));
      for (const l of appLayers) expect(uploaded, report.log).not.toContain(l);
    }

    // and it pulls and runs from the new repository with nothing cached locally
    await d.docker(['rmi', otherRef, appRef]);
    const pull = await d.docker(['pull', otherRef], { timeoutMs: 90_000 });
    expect(pull.stdout).toContain(`Digest: ${otherDigest}`);
    const msg = await d.docker(['run', '--network', 'none', '--rm', otherRef], { timeoutMs: 60_000 });
    expect(msg.stdout).toBe('hello from other\n');

    // pull by digest too
    await d.docker(['pull', `${e.host}/docker/app@${appDigest}`], { timeoutMs: 90_000 });
  }, 240_000);
});

// Garbage collection seen by a real client: skopeo pushes two images sharing layers, one is
// deleted and collected, and pushing it again re-uploads exactly what was reclaimed; both
// images then copy back out byte-identical.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, run } from '../helpers/clients/exec.js';
import { allBlobs, busyboxLayer, dataLayer, image, layoutRef, readLayoutBlobs, writeLayout, type Image } from '../helpers/clients/oci-layout.js';
import { startWharf, type TestWharf } from '../helpers/wharf.js';

const absent = missing('skopeo');
const skopeo = (args: string[]) => run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 60_000 });

describe.skipIf(absent.length > 0)('garbage collection with skopeo', () => {
  let reg: TestWharf;
  let src: string;
  const bb = busyboxLayer();
  const shared = dataLayer('gc-shared', 512 * 1024);
  const app = image([bb, shared, dataLayer('gc-app', 300 * 1024)], { labels: { 'wharf.test': 'gc-app' } });
  const other = image([bb, shared], { labels: { 'wharf.test': 'gc-other' } });

  beforeAll(async () => {
    reg = await startWharf({ config: { gcInterval: 'off' } });
    src = join(reg.dataDir, 'layout');
    await writeLayout(src, { app, other });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  async function expectCopiesOut(repo: string, tag: string, x: Image) {
    const out = join(reg.dataDir, `out-${repo.replace('/', '-')}-${tag}`);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/${repo}:${tag}`, `oci:${out}:${tag}`]);
    expect((await layoutRef(out, tag)).digest).toBe(x.manifest.digest);
    const got = await readLayoutBlobs(out);
    for (const [digest, b] of allBlobs(x)) expect(got.get(digest)?.equals(b.data), digest).toBe(true);
  }

  it('reclaims a deleted image, keeps what another image shares, and takes the image again', async () => {
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:app`, `docker://${reg.host}/gc/app:v1`]);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:other`, `docker://${reg.host}/gc/other:v1`]);
    const del = await fetch(`${reg.url}/v2/gc/app/manifests/${app.manifest.digest}`, { method: 'DELETE' });
    expect(del.status).toBe(202);

    const report = await reg.wharf.gc.run({ now: new Date(Date.now() + 25 * 3600_000) });
    const appOnly = [app.config, app.layers[2]!];
    expect(report.blobsDeleted).toBe(appOnly.length);
    expect(report.bytesReclaimed).toBe(appOnly.reduce((n, b) => n + b.data.length, 0));
    for (const b of appOnly) expect(await reg.wharf.registry.blobs.stat(b.digest)).toBeNull();

    await expectCopiesOut('gc/other', 'v1', other);
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${src}:app`, `docker://${reg.host}/gc/app:v2`]);
    await expectCopiesOut('gc/app', 'v2', app);
  });
});

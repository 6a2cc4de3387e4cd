// skopeo pushes to and pulls from Wharf over HTTPS with the test CA trusted through
// --dest-cert-dir / --src-cert-dir (a directory holding the CA as ca.crt), TLS verification on.
// skopeo 1.9 (containers/image) offers no ALPN at all, so this is the HTTP/1.1 fallback on the h2 port.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing, run } from '../helpers/clients/exec.js';
import { allBlobs, dataLayer, image, layoutRef, readLayoutBlobs, writeLayout, MT } from '../helpers/clients/oci-layout.js';
import { makeTestPki, request1, type TestPki, startTlsWharf, type TlsWharf } from '../helpers/tls.js';

const absent = missing('skopeo');

describe.skipIf(absent.length > 0)(`skopeo over HTTPS${absent.length ? ' (skipped: skopeo not installed)' : ''}`, () => {
  let pki: TestPki;
  let w: TlsWharf;
  let tmp: string;
  let registriesConf: string;
  const app = image([dataLayer('tls-a', 512 * 1024), dataLayer('tls-b', 64 * 1024)], { labels: { 'wharf.test': 'tls' } });

  // skopeo ignores CONTAINERS_REGISTRIES_CONF; an empty registries.conf keeps the machine's out of it.
  const skopeo = (args: string[], allowFailure = false) =>
    run('skopeo', ['--insecure-policy', '--registries-conf', registriesConf, ...args], { timeoutMs: 120_000, allowFailure });

  beforeAll(async () => {
    pki = await makeTestPki();
    w = await startTlsWharf(pki);
    tmp = await mkdtemp(join(tmpdir(), 'wharf-tls-skopeo-'));
    registriesConf = join(tmp, 'registries.conf');
    await writeFile(registriesConf, '');
    await writeLayout(join(tmp, 'src'), { app });
  });
  afterAll(async () => {
    await w?.stop();
    await pki?.remove();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('copies an image in and back out with the CA trusted by --dest-cert-dir/--src-cert-dir, byte-identical', async () => {
    const ref = `docker://${w.host}/tls/skopeo:v1`;
    await skopeo(['copy', '--dest-cert-dir', pki.certDir, `oci:${join(tmp, 'src')}:app`, ref]);

    const got = await request1(`${w.httpsUrl}/v2/tls/skopeo/manifests/v1`, { ca: pki.ca.cert, headers: { accept: MT.ociManifest } });
    expect(got.status).toBe(200);
    expect(got.headers['docker-content-digest']).toBe(app.manifest.digest);

    const out = join(tmp, 'out');
    await skopeo(['copy', '--src-cert-dir', pki.certDir, ref, `oci:${out}:v1`]);
    expect((await layoutRef(out, 'v1')).digest).toBe(app.manifest.digest);
    const blobs = await readLayoutBlobs(out);
    for (const [digest, b] of allBlobs(app)) expect(blobs.get(digest)?.equals(b.data), digest).toBe(true);

    const inspected = await skopeo(['inspect', '--cert-dir', pki.certDir, '--raw', ref]);
    expect(inspected.stdout.trim()).toBe(app.manifest.data.toString());
  });

  it('fails certificate verification without the CA (TLS is really checked)', async () => {
    const emptyDir = join(tmp, 'no-ca');
    await mkdir(emptyDir, { recursive: true });
    const res = await skopeo(['inspect', '--cert-dir', emptyDir, '--raw', `docker://${w.host}/tls/skopeo:v1`], true);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/x509|certificate/i);
  });
});

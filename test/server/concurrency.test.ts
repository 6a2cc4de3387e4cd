// Many clients at once: the same blob pushed in parallel, two writers on one upload,
// racing tag moves. Run on every database.
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWharf, testDatabases, type TestWharf } from '../helpers/wharf.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe.each(testDatabases())('concurrency on %s', (database) => {
  let server: TestWharf;
  beforeAll(async () => {
    server = await startWharf({ database });
  });
  afterAll(async () => server.stop());

  it('the same blob pushed by 12 clients into 4 repositories at once is stored once and pulls intact', async () => {
    const blob = randomBytes(2 * 1024 * 1024);
    const digest = sha256(blob);
    const repos = ['same/a', 'same/b', 'same/c', 'same/d'];
    const pushes = Array.from({ length: 12 }, (_, i) =>
      fetch(`${server.url}/v2/${repos[i % repos.length]}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: blob }),
    );
    const statuses = (await Promise.all(pushes)).map((r) => r.status);
    expect(statuses).toEqual(Array(12).fill(201));
    for (const repo of repos) {
      const pulled = Buffer.from(await (await fetch(`${server.url}/v2/${repo}/blobs/${digest}`)).arrayBuffer());
      expect(sha256(pulled)).toBe(digest);
    }
    const hex = digest.slice(7);
    expect(await readdir(join(server.dataDir, 'blobs', 'sha256', hex.slice(0, 2)))).toEqual([hex]);
    expect(await readdir(join(server.dataDir, 'blobs', '_uploads'))).toEqual([]);
  });

  it('a second writer on an upload that is receiving a chunk gets 416 with the current Range', async () => {
    const start = await fetch(`${server.url}/v2/busy/blobs/uploads/`, { method: 'POST' });
    const location = new URL(start.headers.get('location')!, server.url).toString();
    const first = request(location, { method: 'PATCH' });
    const firstStatus = new Promise<number>((resolve, reject) => {
      first.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      first.on('error', reject);
    });
    first.write(randomBytes(1000));
    await new Promise((r) => setTimeout(r, 150));
    const second = await fetch(location, { method: 'PATCH', body: randomBytes(10) });
    expect(second.status).toBe(416);
    expect(second.headers.get('range')).toBe('0-0');
    first.end(randomBytes(1000));
    expect(await firstStatus).toBe(202);
    const status = await fetch(location);
    expect(status.headers.get('range')).toBe('0-1999');
  });

  it('racing pushes to one tag all succeed and the tag ends on one of them', async () => {
    const config = Buffer.from('{}');
    await fetch(`${server.url}/v2/race/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config });
    const manifests = Array.from({ length: 8 }, (_, i) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
          layers: [],
          annotations: { n: String(i) },
        }),
      ),
    );
    const results = await Promise.all(
      manifests.map((m) =>
        fetch(`${server.url}/v2/race/manifests/latest`, {
          method: 'PUT',
          body: m,
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(201));
    const head = await fetch(`${server.url}/v2/race/manifests/latest`, { method: 'HEAD' });
    expect(manifests.map(sha256)).toContain(head.headers.get('docker-content-digest'));
    for (const m of manifests) {
      expect((await fetch(`${server.url}/v2/race/manifests/${sha256(m)}`, { method: 'HEAD' })).status).toBe(200);
    }
  });
});

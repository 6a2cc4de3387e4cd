// Garbage collection under load: concurrent pushes sharing layers (with HEAD checks and
// cross-repository mounts, as docker does), deletes, and collections running in a loop, for
// a fixed number of iterations. Afterwards every tagged image pulls byte-identical, no push
// failed, and a final collection leaves no unreferenced blob in the database or on disk.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layer, OciClient, ociConfig, ociManifest, testDatabases, type Content } from '../helpers/oci.js';
import { startWharf, type TestWharf } from '../helpers/wharf.js';

const PUSHERS = 8;
const ITERATIONS = 12;
const REPOSITORIES = ['stress/a', 'stress/b', 'stress/c'];
const GRACE = '3s';

interface Pushed {
  repo: string;
  tag: string;
  manifest: Content;
  blobs: Content[];
}

describe.each(testDatabases())('garbage collection under concurrent pushes and deletes (%s)', (database) => {
  let reg: TestWharf;
  let client: OciClient;

  beforeAll(async () => {
    reg = await startWharf({ database, config: { gcGracePeriod: GRACE, gcInterval: 'off' } });
    client = new OciClient(reg);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  /** docker's way: HEAD in the target; else try a mount from another repository; else upload. */
  async function ensureBlob(repo: string, blob: Content): Promise<void> {
    const head = await client.headBlob(repo, blob.digest);
    if (head.status === 200) return;
    const from = REPOSITORIES.find((r) => r !== repo)!;
    const mount = await client.fetch(`/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}`, { method: 'POST' });
    await mount.arrayBuffer();
    if (mount.status === 201) return;
    await client.pushBlob(repo, blob.bytes);
  }

  it('loses nothing that is tagged and leaves nothing unreferenced', { timeout: 120_000 }, async () => {
    const shared = Array.from({ length: 6 }, (_, i) => layer(2048 + i));
    const alive = new Map<string, Pushed>();
    const failures: string[] = [];
    let collections = 0;
    let reclaimed = 0;
    let pushing = true;

    const collector = (async () => {
      while (pushing) {
        const report = await reg.wharf.gc.run();
        collections++;
        reclaimed += report.bytesReclaimed;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const pusher = async (worker: number) => {
      const mine: Pushed[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        const repo = REPOSITORIES[(worker + i) % REPOSITORIES.length]!;
        const config = ociConfig({ worker, i });
        const own = layer(1500);
        const picks = [shared[(worker + i) % shared.length]!, shared[(worker * 3 + i * 5) % shared.length]!];
        const layers = [...new Map([...picks, own].map((l) => [l.digest, l])).values()];
        try {
          for (const blob of [config, ...layers]) await ensureBlob(repo, blob);
          const manifest = ociManifest({ config: config.descriptor(), layers: layers.map((l) => l.descriptor()) });
          const tag = `w${worker}-${i}`;
          const res = await client.putManifest(repo, tag, manifest.bytes, manifest.mediaType);
          if (res.status !== 201) failures.push(`${repo}:${tag} ${res.status} ${await res.text()}`);
          else {
            await res.arrayBuffer();
            const pushed = { repo, tag, manifest, blobs: [config, ...layers] };
            mine.push(pushed);
            alive.set(`${repo}:${tag}`, pushed);
          }
        } catch (err) {
          failures.push(`${repo} push: ${(err as Error).message}`);
        }
        // Delete one of this worker's older images now and then: its blobs become garbage.
        if (i % 3 === 2 && mine.length > 1) {
          const victim = mine.splice(0, 1)[0]!;
          const res = await client.deleteManifest(victim.repo, victim.manifest.digest);
          await res.arrayBuffer();
          if (res.status !== 202) failures.push(`delete ${victim.repo}:${victim.tag} ${res.status}`);
          alive.delete(`${victim.repo}:${victim.tag}`);
        }
        // Space the iterations out so garbage outlives the grace period while pushes go on.
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await Promise.all(Array.from({ length: PUSHERS }, (_, w) => pusher(w)));
    pushing = false;
    await collector;

    expect(failures).toEqual([]);
    expect(collections).toBeGreaterThan(5);
    expect(reclaimed).toBeGreaterThan(0);

    // Every tagged image pulls byte-identical, whatever the collections did meanwhile.
    for (const image of alive.values()) {
      const res = await client.getManifest(image.repo, image.tag);
      expect(res.status, `${image.repo}:${image.tag}`).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(image.manifest.bytes)).toBe(true);
      for (const blob of image.blobs) {
        const got = await client.getBlob(image.repo, blob.digest);
        expect(got.status, `${image.repo} ${blob.digest}`).toBe(200);
        expect(Buffer.from(await got.arrayBuffer()).equals(blob.bytes)).toBe(true);
      }
    }

    // Once the grace period has passed, nothing unreferenced remains: not a link, not a row, not a file.
    await reg.wharf.gc.run({ now: new Date(Date.now() + 10_000) });
    const db = reg.wharf.registry.metadata.connection.db;
    const links = await db.selectFrom('repository_blobs as rb').innerJoin('repositories as r', 'r.id', 'rb.repository_id').select(['r.name', 'rb.digest']).execute();
    const referenced = new Set<string>();
    for (const image of alive.values()) for (const blob of image.blobs) referenced.add(`${image.repo} ${blob.digest}`);
    expect(links.map((l) => `${l.name} ${l.digest}`).sort()).toEqual([...referenced].sort());
    const rows = (await db.selectFrom('blobs').select('digest').execute()).map((r) => r.digest).sort();
    expect(rows).toEqual([...new Set([...referenced].map((k) => k.split(' ')[1]!))].sort());
    expect(await db.selectFrom('blob_deletions').selectAll().execute()).toEqual([]);
    expect(await filesUnder(join(reg.dataDir, 'blobs'))).toEqual(rows);
  });
});

/** Digests of the blob files the filesystem store holds (sha256/<2 hex>/<hex>), skipping uploads. */
async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const algorithm of await readdir(root)) {
    if (algorithm.startsWith('_')) continue;
    for (const prefix of await readdir(join(root, algorithm))) {
      for (const hex of await readdir(join(root, algorithm, prefix))) if (!hex.includes('.')) out.push(`${algorithm}:${hex}`);
    }
  }
  return out.sort();
}

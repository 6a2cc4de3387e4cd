// Online garbage collection against a real server (SQLite and PostgreSQL, filesystem storage):
// what goes, what stays (grace period, shared layers, untagged manifests), the dry run, the
// publish/mount side of the protocol, abandoned removals, and /metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layer, OciClient, ociConfig, ociManifest, repoName, testDatabases } from '../helpers/oci.js';
import { startWharf, type TestWharf } from '../helpers/wharf.js';

const GRACE_MS = 60 * 60_000;
const later = (ms = GRACE_MS + 1000) => new Date(Date.now() + ms);

describe.each(testDatabases())('online garbage collection (%s)', (database) => {
  let reg: TestWharf;
  let client: OciClient;
  const db = () => reg.wharf.registry.metadata.connection.db;
  const stored = async (digest: string) => (await reg.wharf.registry.blobs.stat(digest)) !== null;
  const blobRow = async (digest: string) => (await db().selectFrom('blobs').select('digest').where('digest', '=', digest).executeTakeFirst()) !== undefined;

  beforeAll(async () => {
    reg = await startWharf({ database, config: { gcGracePeriod: '1h', gcInterval: 'off' } });
    client = new OciClient(reg);
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('reclaims the blobs of a deleted image and keeps a layer another repository still uses', async () => {
    const [a, b] = [repoName('gc-a'), repoName('gc-b')];
    const shared = layer(4096);
    const own = layer(2048);
    const configA = ociConfig();
    await client.pushContent(a, configA, shared, own);
    const manifestA = ociManifest({ config: configA.descriptor(), layers: [shared.descriptor(), own.descriptor()] });
    await client.pushManifest(a, manifestA, 'v1');
    const imageB = ociConfig();
    await client.pushContent(b, imageB, shared);
    const manifestB = ociManifest({ config: imageB.descriptor(), layers: [shared.descriptor()] });
    await client.pushManifest(b, manifestB, 'v1');

    // Nothing is unreferenced yet: a collection far in the future removes nothing of these.
    await reg.wharf.gc.run({ now: later() });
    for (const d of [shared.digest, own.digest, configA.digest, imageB.digest]) expect(await stored(d)).toBe(true);

    expect((await client.deleteManifest(a, manifestA.digest)).status).toBe(202);
    // Within the grace period nothing goes.
    const early = await reg.wharf.gc.run();
    expect(early.blobsDeleted).toBe(0);
    expect(await stored(own.digest)).toBe(true);

    const report = await reg.wharf.gc.run({ now: later() });
    expect(report.unlinked).toBeGreaterThanOrEqual(3);
    expect(await stored(own.digest)).toBe(false);
    expect(await stored(configA.digest)).toBe(false);
    expect(await blobRow(own.digest)).toBe(false);
    expect(report.bytesReclaimed).toBeGreaterThanOrEqual(own.size + configA.size);
    // The shared layer stays for b, and is gone from a.
    expect(await stored(shared.digest)).toBe(true);
    expect((await client.headBlob(a, shared.digest)).status).toBe(404);
    const pulled = await client.getBlob(b, shared.digest);
    expect(pulled.status).toBe(200);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(shared.bytes)).toBe(true);
    expect((await client.getManifest(b, 'v1')).status).toBe(200);
  });

  it('keeps untagged manifests and their blobs', async () => {
    const repo = repoName('gc-untagged');
    const image = await client.pushImage(repo, 'v1');
    const replacement = await client.pushImage(repo, 'v1'); // v1 moves; the first image is untagged
    await reg.wharf.gc.run({ now: later() });
    for (const d of [image.config.digest, ...image.layers.map((l) => l.digest), replacement.config.digest]) expect(await stored(d)).toBe(true);
    expect((await client.getManifest(repo, image.manifest.digest)).status).toBe(200);
  });

  it('spares an uploaded layer whose manifest has not arrived within the grace period', async () => {
    const repo = repoName('gc-pending');
    const pending = layer(1000);
    await client.pushContent(repo, pending);
    await reg.wharf.gc.run();
    expect(await stored(pending.digest)).toBe(true);
    // A HEAD long after the upload (as docker does before pushing a manifest) renews the link...
    await db().updateTable('repository_blobs').set({ touched_at: new Date(Date.now() - GRACE_MS).toISOString() }).where('digest', '=', pending.digest).execute();
    expect((await client.headBlob(repo, pending.digest)).status).toBe(200);
    await expect.poll(async () => {
      const row = await db().selectFrom('repository_blobs').select('touched_at').where('digest', '=', pending.digest).executeTakeFirst();
      return Date.parse(row?.touched_at ?? '0') > Date.now() - 60_000;
    }).toBe(true);
    await reg.wharf.gc.run({ now: later(GRACE_MS / 2) });
    expect((await client.headBlob(repo, pending.digest)).status).toBe(200);
    // ...and once the grace period has passed with no manifest, it goes.
    await reg.wharf.gc.run({ now: later() });
    expect(await stored(pending.digest)).toBe(false);
    expect((await client.headBlob(repo, pending.digest)).status).toBe(404);
  });

  it('reports in a dry run exactly what the real run then reclaims, and changes nothing', async () => {
    const repo = repoName('gc-dry');
    const image = await client.pushImage(repo, 'v1', { layers: 2, layerSize: 3000 });
    expect((await client.deleteManifest(repo, image.manifest.digest)).status).toBe(202);
    const future = later();
    const dry = await reg.wharf.gc.run({ dryRun: true, now: future });
    expect(dry.dryRun).toBe(true);
    // At least this image's three blobs (earlier tests on this server may have left more).
    expect(dry.blobsDeleted).toBeGreaterThanOrEqual(3);
    expect(dry.bytesReclaimed).toBeGreaterThanOrEqual(image.config.size + 6000);
    for (const d of [image.config.digest, ...image.layers.map((l) => l.digest)]) expect(await stored(d)).toBe(true);
    const real = await reg.wharf.gc.run({ now: future });
    expect({ unlinked: real.unlinked, blobs: real.blobsDeleted, bytes: real.bytesReclaimed }).toEqual({ unlinked: dry.unlinked, blobs: dry.blobsDeleted, bytes: dry.bytesReclaimed });
  });

  it('makes a publish wait while a collection removes the same bytes, then writes them again', async () => {
    const repo = repoName('gc-republish');
    const data = layer(5000);
    // A collection that has claimed this digest and not yet deleted its bytes.
    await db().insertInto('blob_deletions').values({ digest: data.digest, size: data.size, started_at: new Date().toISOString() }).execute();
    let done = false;
    const push = client.pushContent(repo, data).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(done).toBe(false);
    await db().deleteFrom('blob_deletions').where('digest', '=', data.digest).execute();
    await push;
    expect(await stored(data.digest)).toBe(true);
    const back = await client.getBlob(repo, data.digest);
    expect(Buffer.from(await back.arrayBuffer()).equals(data.bytes)).toBe(true);
  });

  it('takes over a removal whose collector died: a publish after five minutes, a collection likewise', async () => {
    const repo = repoName('gc-abandoned');
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const data = layer(700);
    await db().insertInto('blob_deletions').values({ digest: data.digest, size: data.size, started_at: old }).execute();
    await client.pushContent(repo, data);
    expect(await stored(data.digest)).toBe(true);
    expect(await db().selectFrom('blob_deletions').selectAll().where('digest', '=', data.digest).executeTakeFirst()).toBeUndefined();

    // A removal with no publish behind it: the next collection finishes it.
    const orphan = layer(900);
    await client.pushContent(repo, orphan);
    await db().deleteFrom('repository_blobs').where('digest', '=', orphan.digest).execute();
    await db().deleteFrom('blobs').where('digest', '=', orphan.digest).execute();
    await db().insertInto('blob_deletions').values({ digest: orphan.digest, size: orphan.size, started_at: old }).execute();
    const report = await reg.wharf.gc.run();
    expect(report.resumed).toBeGreaterThanOrEqual(1);
    expect(await stored(orphan.digest)).toBe(false);
    expect(await db().selectFrom('blob_deletions').selectAll().where('digest', '=', orphan.digest).executeTakeFirst()).toBeUndefined();
  });

  it('refuses to mount a blob a collection removed, so the client uploads it', async () => {
    const [from, to] = [repoName('gc-mount-from'), repoName('gc-mount-to')];
    const data = layer(1200);
    await client.pushContent(from, data);
    expect((await client.fetch(`/v2/${from}/blobs/${data.digest}`, { method: 'DELETE' })).status).toBe(202);
    await reg.wharf.gc.run({ now: later() });
    const res = await client.fetch(`/v2/${to}/blobs/uploads/?mount=${data.digest}&from=${from}`, { method: 'POST' });
    expect(res.status).toBe(202);
    await res.arrayBuffer();
  });

  it('keeps the bytes of a blob a manifest still names even after a client deleted its link', async () => {
    const repo = repoName('gc-unlinked');
    const image = await client.pushImage(repo, 'v1', { layers: 1, layerSize: 2500 });
    const layerDigest = image.layers[0]!.digest;
    expect((await client.fetch(`/v2/${repo}/blobs/${layerDigest}`, { method: 'DELETE' })).status).toBe(202);
    await reg.wharf.gc.run({ now: later() });
    expect(await stored(layerDigest)).toBe(true);
    // Pushing the blob again repairs the image.
    await client.pushContent(repo, image.layers[0]!);
    expect((await client.getBlob(repo, layerDigest)).status).toBe(200);
  });

  it('never lists storage: every candidate comes from the database', async () => {
    // A file in storage that the database does not know is not the collector's business.
    const stray = layer(333);
    const id = '00000000-0000-4000-8000-000000000001';
    const { Readable } = await import('node:stream');
    await reg.wharf.registry.blobs.writeUpload(id, 0, Readable.from([stray.bytes]));
    await reg.wharf.registry.blobs.commitUpload(id, stray.size, stray.digest);
    await reg.wharf.gc.run({ now: later() });
    expect(await stored(stray.digest)).toBe(true);
  });

  it('exposes cluster-wide totals and the job queue on /metrics', async () => {
    await reg.wharf.gc.run({ now: later() });
    const res = await fetch(`${reg.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    const totals = await reg.wharf.gc.totals();
    expect(value('wharf_gc_runs_total')).toBe(totals.runs);
    expect(value('wharf_gc_runs_total')).toBeGreaterThan(3);
    expect(value('wharf_gc_reclaimed_bytes_total')).toBe(totals.bytesReclaimed);
    expect(value('wharf_gc_reclaimed_bytes_total')).toBeGreaterThan(0);
    expect(value('wharf_gc_pending_deletions')).toBe(0);
    expect(text).toMatch(/^wharf_jobs\{kind="uploads\.expire",status="pending"\} 1$/m);
  });
});

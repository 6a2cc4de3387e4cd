// Two stateless nodes sharing PostgreSQL and an S3 bucket, as docs/deploy.md describes:
// one upload's chunks alternate between them, the other node serves the result, and a
// node killed mid-push is replaced by the other one finishing the push.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWharf, type WharfProcess } from '../helpers/process.js';
import { freshPostgresUrl } from '../helpers/wharf.js';
import { startTestS3, type TestS3 } from '../storage/s3-server.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const pgUrl = process.env.WHARF_TEST_POSTGRES_URL;

describe.skipIf(!pgUrl)('two nodes on PostgreSQL + S3', () => {
  let s3: TestS3;
  let pg: { url: string; drop(): Promise<void> };
  let dirs: string[] = [];
  const nodes: WharfProcess[] = [];

  const startNode = async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wharf-node-'));
    dirs.push(dataDir);
    const node = await spawnWharf({
      dataDir,
      databaseUrl: pg.url,
      env: { WHARF_STORAGE_URL: storageUrl, WHARF_LOG_LEVEL: 'warn' },
      flags: ['--upload-lease', '2s'],
    });
    nodes.push(node);
    return node;
  };
  let storageUrl: string;

  beforeAll(async () => {
    s3 = await startTestS3();
    storageUrl = s3.url();
    pg = await freshPostgresUrl();
  });
  afterAll(async () => {
    for (const n of nodes) await n.stop('SIGKILL');
    await s3?.stop();
    await pg?.drop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    dirs = [];
  });

  it('assembles one upload from chunks sent alternately to both nodes and serves it from either', async () => {
    const [a, b] = [await startNode(), await startNode()];
    // Sizes on both sides of S3's 5 MiB part minimum.
    const chunks = [1024 * 1024, 6 * 1024 * 1024 + 3, 100 * 1024, 5 * 1024 * 1024, 777].map((n) => randomBytes(n));
    const blob = Buffer.concat(chunks);
    const start = await fetch(`${a.url}/v2/scale/app/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const path = new URL(start.headers.get('location')!, a.url).pathname;
    let offset = 0;
    for (const [i, chunk] of chunks.entries()) {
      const node = i % 2 === 0 ? b : a;
      const res = await fetch(`${node.url}${path}`, { method: 'PATCH', body: chunk, headers: { 'content-range': `${offset}-${offset + chunk.length - 1}` } });
      expect(res.status, `chunk ${i} on ${node.host}`).toBe(202);
      offset += chunk.length;
      expect(res.headers.get('range')).toBe(`0-${offset - 1}`);
    }
    expect((await fetch(`${b.url}${path}?digest=${sha256(blob)}`, { method: 'PUT' })).status).toBe(201);

    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    expect((await fetch(`${b.url}/v2/scale/app/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config })).status).toBe(201);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blob), size: blob.length }],
      }),
    );
    expect(
      (await fetch(`${a.url}/v2/scale/app/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } })).status,
    ).toBe(201);

    for (const node of [a, b]) {
      const m = await fetch(`${node.url}/v2/scale/app/manifests/v1`);
      expect(m.headers.get('docker-content-digest')).toBe(sha256(manifest));
      const pulled = Buffer.from(await (await fetch(`${node.url}/v2/scale/app/blobs/${sha256(blob)}`)).arrayBuffer());
      expect(sha256(pulled)).toBe(sha256(blob));
      const tail = await fetch(`${node.url}/v2/scale/app/blobs/${sha256(blob)}`, { headers: { range: `bytes=${blob.length - 10}-` } });
      expect(tail.status).toBe(206);
      expect(Buffer.from(await tail.arrayBuffer()).equals(blob.subarray(blob.length - 10))).toBe(true);
    }
  });

  it('finishes on the surviving node a push whose node was killed mid-chunk', async () => {
    const [a, b] = [await startNode(), await startNode()];
    const first = randomBytes(2 * 1024 * 1024);
    const second = randomBytes(3 * 1024 * 1024);
    const blob = Buffer.concat([first, second]);
    const start = await fetch(`${a.url}/v2/scale/killed/blobs/uploads/`, { method: 'POST' });
    const path = new URL(start.headers.get('location')!, a.url).pathname;
    expect((await fetch(`${a.url}${path}`, { method: 'PATCH', body: first, headers: { 'content-range': `0-${first.length - 1}` } })).status).toBe(202);

    // Node A dies while receiving the second chunk.
    const hanging = request(`${a.url}${path}`, { method: 'PATCH' });
    hanging.on('error', () => undefined);
    hanging.write(second.subarray(0, 1024 * 1024));
    await new Promise((r) => setTimeout(r, 300));
    await a.stop('SIGKILL');

    const status = await fetch(`${b.url}${path}`);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${first.length - 1}`);
    // The dead node's lease on the upload lapses (2 s here); then B takes over.
    const deadline = Date.now() + 15_000;
    let res: Response;
    do {
      res = await fetch(`${b.url}${path}`, { method: 'PATCH', body: second, headers: { 'content-range': `${first.length}-${blob.length - 1}` } });
      if (res.status === 202) break;
      expect(res.status).toBe(416);
      await new Promise((r) => setTimeout(r, 300));
    } while (Date.now() < deadline);
    expect(res.status).toBe(202);
    expect((await fetch(`${b.url}${path}?digest=${sha256(blob)}`, { method: 'PUT' })).status).toBe(201);
    const pulled = Buffer.from(await (await fetch(`${b.url}/v2/scale/killed/blobs/${sha256(blob)}`)).arrayBuffer());
    expect(pulled.equals(blob)).toBe(true);
  });
});

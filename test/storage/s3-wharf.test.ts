// A real Wharf server on S3 storage (s3rver started here, or WHARF_TEST_S3_URL): blobs
// pushed chunk by chunk over HTTP, and two servers sharing one database and one bucket
// taking alternate chunks of the same upload, as two nodes behind a load balancer would.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient } from '../helpers/oci.js';
import { startWharf, testDatabases, type TestWharf } from '../helpers/wharf.js';
import { startTestS3, type TestS3 } from './s3-server.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe.each(testDatabases())('Wharf on S3 storage (%s)', (database) => {
  let s3: TestS3;
  let storageUrl: string;
  let prefix: string;
  let a: TestWharf;
  let b: TestWharf;
  let ca: OciClient;
  let cb: OciClient;

  beforeAll(async () => {
    s3 = await startTestS3();
    storageUrl = s3.url();
    prefix = new URL(storageUrl).pathname.slice(1);
    a = await startWharf({ database, config: { storageUrl } });
    // A second node: its own process state, the same database and bucket.
    b = await startWharf({ databaseUrl: a.databaseUrl, config: { storageUrl } });
    ca = new OciClient(a);
    cb = new OciClient(b);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await s3?.stop();
  });

  it('reports the bucket in /readyz', async () => {
    const res = await fetch(`${a.url}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { checks: Record<string, string> }).checks.storage).toBe('ok');
  });

  it('pushes a blob chunk by chunk and pulls it whole and by range', async () => {
    const data = randomBytes(11 * MiB + 123);
    const digest = await ca.pushBlob('s3/chunked', data, { method: 'chunked-final-put', chunkSize: 3 * MiB });
    expect(digest).toBe(sha256(data));
    const head = await ca.headBlob('s3/chunked', digest);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    const get = await ca.getBlob('s3/chunked', digest);
    expect(get.status).toBe(200);
    expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    const range = await ca.getBlob('s3/chunked', digest, { range: 'bytes=5242870-5242889' });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(data.subarray(5242870, 5242890))).toBe(true);
    expect(await s3.keys(`${prefix}/uploads/`)).toEqual([]);
    const hex = digest.slice(7);
    expect(await s3.keys(`${prefix}/blobs/sha256/${hex.slice(0, 2)}/${hex}`)).toHaveLength(1);
  });

  it('takes alternate chunks of one upload on two nodes and pulls the blob from either', async () => {
    const data = randomBytes(9 * MiB + 7);
    const digest = sha256(data);
    const sizes = [2 * MiB, 6 * MiB, 1024];
    const { location } = await ca.startUpload('s3/two-nodes');
    // The same upload URL on either node (the registry keeps no state in the URL but the id).
    const path = new URL(location).pathname + new URL(location).search;
    let offset = 0;
    let i = 0;
    for (const size of sizes) {
      const client = i++ % 2 === 0 ? ca : cb;
      const chunk = data.subarray(offset, offset + size);
      const res = await client.patchChunk(client.url(path), chunk, offset);
      expect(res.status).toBe(202);
      await res.arrayBuffer();
      offset += size;
      expect(res.headers.get('range')).toBe(`0-${offset - 1}`);
    }
    // The last bytes and the commit on node b, which never saw the first chunk: it re-reads the upload to hash it.
    const put = await cb.putUpload(cb.url(path), digest, data.subarray(offset), offset);
    expect(put.status).toBe(201);
    await put.arrayBuffer();
    for (const client of [ca, cb]) {
      const get = await client.getBlob('s3/two-nodes', digest);
      expect(get.status).toBe(200);
      expect(Buffer.from(await get.arrayBuffer()).equals(data)).toBe(true);
    }
  });

  it('collects garbage on one node while the other serves: the deleted image objects leave the bucket', async () => {
    const kept = await ca.pushImage('s3/gc', 'kept', { layers: 1, layerSize: 3000 });
    const gone = await cb.pushImage('s3/gc', 'gone', { layers: 2, layerSize: 4000 });
    expect((await ca.deleteManifest('s3/gc', gone.manifest.digest)).status).toBe(202);
    const key = (digest: string) => `${prefix}/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`;
    const report = await b.wharf.gc.run({ now: new Date(Date.now() + 25 * 3600_000) });
    expect(report.blobsDeleted).toBeGreaterThanOrEqual(3);
    for (const blob of [gone.config, ...gone.layers]) expect(await s3.keys(key(blob.digest))).toEqual([]);
    for (const blob of [kept.config, ...kept.layers]) {
      expect(await s3.keys(key(blob.digest))).toHaveLength(1);
      const res = await ca.getBlob('s3/gc', blob.digest);
      expect(Buffer.from(await res.arrayBuffer()).equals(blob.bytes)).toBe(true);
    }
  });

  it('takes a monolithic push and rejects a wrong digest without leaving staged bytes', async () => {
    const data = randomBytes(200_000);
    const digest = await cb.pushBlob('s3/mono', data, { method: 'single-post' });
    expect(Buffer.from(await (await ca.getBlob('s3/mono', digest)).arrayBuffer()).equals(data)).toBe(true);

    const { location } = await ca.startUpload('s3/mono');
    const res = await ca.putUpload(location, sha256(Buffer.from('something else')), data);
    expect(res.status).toBe(400);
    await res.arrayBuffer();
    expect(await s3.keys(`${prefix}/uploads/`)).toEqual([]);
  });
});

describe('pull redirects to presigned S3 URLs (storageRedirect)', () => {
  let s3: TestS3;
  let server: TestWharf;
  beforeAll(async () => {
    s3 = await startTestS3();
    server = await startWharf({ config: { storageUrl: s3.url(), storageRedirect: true } });
  });
  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
  });

  it('answers GET with 307 to a short-lived URL serving the blob, HEAD from the database, unknown blobs 404', async () => {
    const client = new OciClient(server);
    const data = randomBytes(2 * MiB + 5);
    const digest = await client.pushBlob('s3/redirect', data);
    const res = await fetch(`${server.url}/v2/s3/redirect/blobs/${digest}`, { redirect: 'manual' });
    expect(res.status).toBe(307);
    const location = res.headers.get('location')!;
    expect(location).toMatch(/X-Amz-Expires=120/);
    expect(location).toMatch(/X-Amz-Signature=/);
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(sha256(Buffer.from(await direct.arrayBuffer()))).toBe(digest);
    // Clients that follow redirects (with Range) get the bytes.
    const ranged = await fetch(`${server.url}/v2/s3/redirect/blobs/${digest}`, { headers: { range: 'bytes=0-9' } });
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(0, 10))).toBe(true);
    const head = await fetch(`${server.url}/v2/s3/redirect/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect((await fetch(`${server.url}/v2/other/repo/blobs/${digest}`, { redirect: 'manual' })).status).toBe(404);
  });
});

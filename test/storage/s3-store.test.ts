// The S3 driver beyond the shared conformance suite: chunk sizes on either side of S3's
// 5 MiB part minimum, bounded buffering, interrupted writes, two nodes on one upload,
// abort after a crashed commit, and the bucket layout. Runs on s3rver (started here) or
// on the bucket WHARF_TEST_S3_URL names.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../src/storage/s3-store.js';
import type { S3StoreOptions } from '../../src/storage/s3-url.js';
import { startTestS3, type TestS3 } from './s3-server.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const collect = async (s: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
};

interface Call {
  command: string;
  input: Record<string, unknown>;
}

/** Records every command the store sends (and lets a test fail chosen ones). */
function record(store: S3BlobStore, opts: { fail?: Set<string>; onDone?: (call: Call) => void } = {}): Call[] {
  const calls: Call[] = [];
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      const call = { command: String(context.commandName), input: args.input as Record<string, unknown> };
      calls.push(call);
      if (opts.fail?.has(call.command)) throw new Error(`injected failure of ${call.command}`);
      const out = await next(args);
      opts.onDone?.(call);
      return out;
    },
    { step: 'initialize', name: `recorder-${randomUUID()}` },
  );
  return calls;
}

const count = (calls: Call[], command: string) => calls.filter((c) => c.command === command).length;

/** Writes `data` as consecutive chunks of the given sizes; returns the final size. */
async function writeChunks(stores: S3BlobStore[], id: string, data: Buffer, sizes: number[]): Promise<number> {
  let offset = 0;
  let i = 0;
  for (const size of sizes) {
    const store = stores[i++ % stores.length]!;
    const chunk = data.subarray(offset, offset + size);
    offset = await store.writeUpload(id, offset, Readable.from([chunk]));
  }
  expect(offset).toBe(data.length);
  return offset;
}

async function expectBlob(store: S3BlobStore, data: Buffer): Promise<string> {
  const digest = sha256(data);
  expect(await store.stat(digest)).toEqual({ size: data.length });
  const back = await collect(await store.read(digest));
  expect(back.length).toBe(data.length);
  expect(back.equals(data)).toBe(true);
  if (data.length > 100) {
    const range = { start: 17, end: Math.min(data.length - 1, 17 + 6 * MiB) };
    expect((await collect(await store.read(digest, range))).equals(data.subarray(range.start, range.end + 1))).toBe(true);
  }
  return digest;
}

/** `size` bytes of a repeating random pattern, so large inputs are cheap to make and check. */
function pattern(size: number): Buffer {
  const seed = randomBytes(64 * KiB + 7);
  const out = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += seed.length) seed.copy(out, at, 0, Math.min(seed.length, size - at));
  return out;
}

describe('S3 driver', () => {
  let s3: TestS3;
  let store: S3BlobStore;
  let options: S3StoreOptions;
  let prefix: string;
  const uploadPrefix = (id: string) => `${prefix}/uploads/${id}/`;

  beforeAll(async () => {
    s3 = await startTestS3();
    options = s3.options();
    prefix = options.prefix;
    store = new S3BlobStore(options);
  });
  afterAll(async () => {
    store?.client.destroy();
    await s3?.stop();
  });

  /** Another process (or node) on the same bucket and prefix. */
  const sameStore = () => new S3BlobStore(options);

  it.each([
    { name: '1 KiB chunks', sizes: Array<number>(48).fill(KiB) },
    { name: '100 KiB chunks past 5 MiB', sizes: Array<number>(56).fill(100 * KiB) },
    { name: '3 MiB chunks', sizes: [3 * MiB, 3 * MiB, 3 * MiB, 3 * MiB, 1234] },
    { name: 'a 1 KiB chunk, then a 12 MiB one, then 3 MiB and 1 KiB', sizes: [KiB, 12 * MiB, 3 * MiB, KiB] },
  ])('commits $name into the right blob', async ({ sizes }) => {
    const total = sizes.reduce((a, b) => a + b, 0);
    const data = pattern(total);
    const id = randomUUID();
    await writeChunks([store], id, data, sizes);
    expect((await collect(await store.readUpload(id, total))).equals(data)).toBe(true);
    await store.commitUpload(id, total, sha256(data));
    await expectBlob(store, data);
    expect(await s3.keys(uploadPrefix(id))).toEqual([]);
  });

  it('copies staged parts server-side and re-uploads only the short runs', async () => {
    const sizes = [KiB, 12 * MiB, 3 * MiB, KiB];
    const total = sizes.reduce((a, b) => a + b, 0);
    const data = pattern(total);
    const id = randomUUID();
    await writeChunks([store], id, data, sizes);
    // Staged: 1 KiB | 5 MiB | 5 MiB | 2 MiB | 3 MiB | 1 KiB, each named by its start offset.
    const staged = (await s3.keys(`${uploadPrefix(id)}parts/`)).map((k) => Number(k.slice(uploadPrefix(id).length + 'parts/'.length)));
    expect(staged).toEqual([0, KiB, KiB + 5 * MiB, KiB + 10 * MiB, KiB + 12 * MiB, KiB + 15 * MiB]);

    const committer = sameStore();
    const calls = record(committer);
    await committer.commitUpload(id, total, sha256(data));
    committer.client.destroy();
    // Part 1 = 1 KiB + the first 5 MiB part read back (which realigns with the staged
    // parts), part 2 = a server-side copy of the second, part 3 = 2 MiB + 3 MiB read
    // back, part 4 = the last 1 KiB.
    expect(count(calls, 'UploadPartCopyCommand')).toBe(1);
    expect(count(calls, 'UploadPartCommand')).toBe(3);
    await expectBlob(store, data);
  });

  it('streams a 24 MiB chunk through at most two part buffers', async () => {
    const total = 24 * MiB;
    const id = randomUUID();
    let generated = 0;
    let stored = 0;
    let maxInFlight = 0;
    const writer = sameStore();
    record(writer, {
      onDone: (call) => {
        if (call.command === 'PutObjectCommand') stored += Number(call.input.ContentLength ?? 0);
      },
    });
    const hash = createHash('sha256');
    const source = new Readable({
      read() {
        if (generated >= total) return this.push(null);
        const chunk = randomBytes(Math.min(256 * KiB, total - generated));
        generated += chunk.length;
        hash.update(chunk);
        maxInFlight = Math.max(maxInFlight, generated - stored);
        this.push(chunk);
      },
    });
    const started = Date.now();
    expect(await writer.writeUpload(id, 0, source)).toBe(total);
    const elapsed = Date.now() - started;
    writer.client.destroy();
    // One part filling, one uploading, plus what the stream itself buffers.
    expect(maxInFlight).toBeLessThan(2 * 5 * MiB + MiB);
    expect(await s3.keys(`${uploadPrefix(id)}parts/`)).toHaveLength(5);
    const digest = `sha256:${hash.digest('hex')}`;
    const committed = Date.now();
    await store.commitUpload(id, total, digest);
    console.log(`s3: 24 MiB chunk written in ${elapsed} ms (max ${(maxInFlight / MiB).toFixed(1)} MiB not yet stored), committed in ${Date.now() - committed} ms`);
    expect(await store.stat(digest)).toEqual({ size: total });
    const back = createHash('sha256');
    for await (const c of await store.read(digest)) back.update(c as Buffer);
    expect(`sha256:${back.digest('hex')}`).toBe(digest);
  });

  it('leaves nothing of an interrupted write visible, and the next write at the acknowledged offset wins', async () => {
    const id = randomUUID();
    const good = pattern(2 * MiB);
    await store.writeUpload(id, 0, Readable.from([good]));
    // A client that sends 7 MiB (so one 5 MiB part reaches the bucket) and goes away.
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= 7 * MiB) return this.destroy(new Error('client went away'));
        sent += MiB;
        this.push(randomBytes(MiB));
      },
    });
    await expect(store.writeUpload(id, good.length, failing)).rejects.toThrow('client went away');
    const partKey = (offset: number) => `${uploadPrefix(id)}parts/${String(offset).padStart(16, '0')}`;
    const indexKey = `${uploadPrefix(id)}index`;
    expect((await s3.keys(uploadPrefix(id))).sort()).toEqual([indexKey, partKey(0)]);

    // A writer that died outright leaves a chain of parts past the offset that no index
    // names (each part starts where the previous ends); the next write finds and replaces them.
    for (const [at, size] of [
      [good.length, 5 * MiB],
      [good.length + 5 * MiB, KiB],
    ] as const) {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: partKey(at), Body: randomBytes(size) }));
    }
    const tail = pattern(300 * KiB);
    expect(await store.writeUpload(id, good.length, Readable.from([tail]))).toBe(good.length + tail.length);
    expect((await s3.keys(uploadPrefix(id))).sort()).toEqual([indexKey, partKey(0), partKey(good.length)]);
    const whole = Buffer.concat([good, tail]);
    expect((await collect(await store.readUpload(id, whole.length))).equals(whole)).toBe(true);
    await store.commitUpload(id, whole.length, sha256(whole));
    await expectBlob(store, whole);
  });

  it('treats a missing or damaged index as absent and walks the chain of parts instead', async () => {
    const id = randomUUID();
    const data = pattern(7 * MiB + 5);
    await writeChunks([store], id, data, [6 * MiB, KiB, MiB - KiB + 5]);
    const indexKey = `${uploadPrefix(id)}index`;
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: indexKey, Body: '{"parts":[[0,' }));
    expect((await collect(await store.readUpload(id, data.length))).equals(data)).toBe(true);
    const tail = randomBytes(100);
    await store.writeUpload(id, data.length, Readable.from([tail]));
    const whole = Buffer.concat([data, tail]);
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: indexKey }));
    await store.commitUpload(id, whole.length, sha256(whole));
    await expectBlob(store, whole);
    expect(await s3.keys(uploadPrefix(id))).toEqual([]);
  });

  it('cuts back a staged part that runs past the acknowledged offset', async () => {
    const id = randomUUID();
    const first = randomBytes(1000);
    await store.writeUpload(id, 0, Readable.from([first]));
    const tail = randomBytes(10);
    expect(await store.writeUpload(id, 400, Readable.from([tail]))).toBe(410);
    const whole = Buffer.concat([first.subarray(0, 400), tail]);
    expect((await collect(await store.readUpload(id, 410))).equals(whole)).toBe(true);
    await expect(store.writeUpload(id, 2000, Readable.from([tail]))).rejects.toThrow(/holds 410 bytes/);
    await store.abortUpload(id);
  });

  it('lets two nodes write alternate chunks of one upload and either commit it', async () => {
    const other = sameStore();
    try {
      const sizes = [3 * MiB, 100 * KiB, 6 * MiB, KiB, 2 * MiB];
      const data = pattern(sizes.reduce((a, b) => a + b, 0));
      const id = randomUUID();
      await writeChunks([store, other], id, data, sizes);
      expect((await collect(await other.readUpload(id, data.length))).equals(data)).toBe(true);
      await other.commitUpload(id, data.length, sha256(data));
      await expectBlob(store, data);
    } finally {
      other.client.destroy();
    }
  });

  /**
   * An 11 MiB upload written in chunks of `sizes`, whose commit died between creating the
   * multipart upload and completing it: nothing the dying node would do to clean up reached
   * the bucket. `uploads()` lists the multipart uploads in flight for the blob.
   */
  async function crashedCommit(sizes: number[]) {
    const data = pattern(11 * MiB);
    const digest = sha256(data);
    const blobKey = `${prefix}/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`;
    const id = randomUUID();
    await writeChunks([store], id, data, sizes);
    const dying = sameStore();
    record(dying, { fail: new Set(['CompleteMultipartUploadCommand', 'AbortMultipartUploadCommand', 'DeleteObjectCommand', 'DeleteObjectsCommand']) });
    await expect(dying.commitUpload(id, data.length, digest)).rejects.toThrow(/injected/);
    dying.client.destroy();
    const uploads = async () => (await s3.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: blobKey }))).Uploads ?? [];
    expect(await uploads()).toHaveLength(1);
    return { id, data, digest, uploads };
  }

  it('aborts an upload whose commit crashed: no staged object and no multipart upload remain', async () => {
    const { id, data, digest, uploads } = await crashedCommit([4 * MiB, 7 * MiB]);
    expect(await s3.keys(uploadPrefix(id))).toContain(`${uploadPrefix(id)}multipart`);
    expect(await store.stat(digest)).toBeNull();

    await store.abortUpload(id);
    expect(await uploads()).toHaveLength(0);
    expect(await s3.keys(uploadPrefix(id))).toEqual([]);
    expect(await store.stat(digest)).toBeNull();
    await store.abortUpload(id);
  });

  it('ends the multipart upload of a crashed commit when the commit is retried', async () => {
    const { id, data, digest, uploads } = await crashedCommit([6 * MiB, 5 * MiB]);

    await store.commitUpload(id, data.length, digest);
    expect(await uploads()).toHaveLength(0);
    expect(await s3.keys(uploadPrefix(id))).toEqual([]);
    await expectBlob(store, data);
  });

  it('spends a small fixed number of requests per chunk besides the parts themselves', async () => {
    const watched = sameStore();
    const calls = record(watched);
    const id = randomUUID();
    const data = pattern(40 * KiB);
    let offset = 0;
    for (let i = 0; i < 10; i++) offset = await watched.writeUpload(id, offset, Readable.from([data.subarray(i * 4 * KiB, (i + 1) * 4 * KiB)]));
    watched.client.destroy();
    // Per chunk: read the index, look past the offset for a dead writer's parts, store the part, store the index.
    expect(calls.length).toBe(10 * 4);
    expect(count(calls, 'PutObjectCommand')).toBe(20);
    await store.abortUpload(id);
    expect(await s3.keys(uploadPrefix(id))).toEqual([]);
  });

  it('commits a digest that already exists without writing it again', async () => {
    const data = pattern(6 * MiB);
    const digest = sha256(data);
    const first = randomUUID();
    await store.writeUpload(first, 0, Readable.from([data]));
    await store.commitUpload(first, data.length, digest);

    const again = randomUUID();
    await store.writeUpload(again, 0, Readable.from([data]));
    const committer = sameStore();
    const calls = record(committer);
    await committer.commitUpload(again, data.length, digest);
    committer.client.destroy();
    expect(calls.map((c) => c.command).filter((c) => /Copy|Multipart|UploadPart|PutObject/.test(c))).toEqual([]);
    expect(await s3.keys(uploadPrefix(again))).toEqual([]);
    await expectBlob(store, data);
  });

  it('lays blobs out by digest and never lists the bucket', async () => {
    const watched = sameStore();
    const calls = record(watched);
    const data = randomBytes(3000);
    const id = randomUUID();
    await watched.writeUpload(id, 0, Readable.from([data.subarray(0, 1000)]));
    await watched.writeUpload(id, 1000, Readable.from([data.subarray(1000)]));
    await collect(await watched.readUpload(id, data.length));
    const digest = sha256(data);
    await watched.commitUpload(id, data.length, digest);
    await watched.stat(digest);
    await collect(await watched.read(digest, { start: 1, end: 2 }));
    await watched.abortUpload(randomUUID());
    await watched.check();
    watched.client.destroy();

    expect(calls.length).toBeGreaterThan(10);
    expect(calls.filter((c) => /List/.test(c.command))).toEqual([]);
    const hex = digest.slice(7);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/blobs/sha256/${hex.slice(0, 2)}/${hex}` }));
    expect(head.ContentLength).toBe(data.length);
  });

  it('applies server-side encryption and storage class settings', async () => {
    const encrypted = new S3BlobStore(s3.options({ sse: 'AES256', storageClass: 'STANDARD' }));
    try {
      const calls = record(encrypted);
      const data = pattern(6 * MiB);
      const id = randomUUID();
      await writeChunks([encrypted], id, data, [MiB, 5 * MiB]);
      await encrypted.commitUpload(id, data.length, sha256(data));
      await expectBlob(encrypted, data);
      const create = calls.find((c) => c.command === 'CreateMultipartUploadCommand');
      expect(create?.input).toMatchObject({ ServerSideEncryption: 'AES256', StorageClass: 'STANDARD' });
      for (const put of calls.filter((c) => c.command === 'PutObjectCommand')) expect(put.input.ServerSideEncryption).toBe('AES256');
    } finally {
      encrypted.client.destroy();
    }
  });

  it('hands out a presigned URL that serves the blob', async () => {
    const data = randomBytes(5000);
    const id = randomUUID();
    await store.writeUpload(id, 0, Readable.from([data]));
    const digest = sha256(data);
    await store.commitUpload(id, data.length, digest);
    const url = await store.presignedReadUrl(digest, 60);
    expect(url).toContain('X-Amz-Signature=');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });

  it('reports an unreachable bucket in its readiness check', async () => {
    const missing = new S3BlobStore({ ...options, bucket: 'no-such-bucket-wharf' });
    try {
      await expect(missing.check()).rejects.toThrow(/no-such-bucket-wharf/);
    } finally {
      missing.client.destroy();
    }
  });
});

describe.skipIf(Boolean(process.env.WHARF_TEST_S3_URL))('S3 driver on a server without UploadPartCopy', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startTestS3({ emulate: false });
  });
  afterAll(async () => s3?.stop());

  it('falls back to copying the bytes through the process', async () => {
    const options = s3.options();
    const store = new S3BlobStore(options);
    try {
      const calls = record(store);
      for (const size of [13 * MiB, 11 * MiB]) {
        const data = pattern(size);
        const id = randomUUID();
        await writeChunks([store], id, data, [size]);
        calls.length = 0;
        await store.commitUpload(id, data.length, sha256(data));
        await expectBlob(store, data);
        expect(await s3.keys(`${options.prefix}/uploads/${id}/`)).toEqual([]);
      }
      // The first commit found out; the second (11 MiB staged as 5 + 5 + 1) did not ask again.
      expect(count(calls, 'UploadPartCopyCommand')).toBe(0);
      expect(count(calls, 'UploadPartCommand')).toBe(3);
    } finally {
      store.client.destroy();
    }
  });
});

// One conformance suite for every BlobStore driver. A new driver adds itself to DRIVERS.
// The S3 leg runs on s3rver (started here), or on the bucket WHARF_TEST_S3_URL names.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { FsBlobStore } from '../../src/storage/fs-store.js';
import { S3BlobStore } from '../../src/storage/s3-store.js';
import { startTestS3 } from './s3-server.js';

interface Driver {
  name: string;
  open(): Promise<{ store: BlobStore; cleanup(): Promise<void> }>;
}

const DRIVERS: Driver[] = [
  {
    name: 'filesystem',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'wharf-fs-'));
      const store = new FsBlobStore(dir);
      await store.init();
      return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    async open() {
      const s3 = await startTestS3();
      const store = new S3BlobStore(s3.options());
      return {
        store,
        async cleanup() {
          store.client.destroy();
          await s3.stop();
        },
      };
    },
  },
];

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const collect = async (s: Readable) => {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
};

describe.each(DRIVERS)('BlobStore conformance: $name', (driver) => {
  let store: BlobStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await driver.open());
  });
  afterAll(async () => cleanup());

  it('writes chunks, commits at the digest, and reads back whole and by range', async () => {
    const id = randomUUID();
    const a = randomBytes(100_000);
    const b = randomBytes(33_333);
    const seen: Buffer[] = [];
    expect(await store.writeUpload(id, 0, Readable.from([a]), (c) => seen.push(c))).toBe(a.length);
    expect(await store.writeUpload(id, a.length, Readable.from([b]), (c) => seen.push(c))).toBe(a.length + b.length);
    const whole = Buffer.concat([a, b]);
    expect(Buffer.concat(seen).equals(whole)).toBe(true);
    expect((await collect(await store.readUpload(id, whole.length))).equals(whole)).toBe(true);

    const digest = sha256(whole);
    expect(await store.stat(digest)).toBeNull();
    await store.commitUpload(id, whole.length, digest);
    expect(await store.stat(digest)).toEqual({ size: whole.length });
    expect((await collect(await store.read(digest))).equals(whole)).toBe(true);
    expect((await collect(await store.read(digest, { start: 10, end: 19 }))).equals(whole.subarray(10, 20))).toBe(true);
  });

  it('discards bytes past the acknowledged offset left by an interrupted write', async () => {
    const id = randomUUID();
    const good = randomBytes(1000);
    await store.writeUpload(id, 0, Readable.from([good]));
    // A write that dies half-way: its bytes land but the database never acknowledges them.
    const failing = new Readable({
      read() {
        this.push(randomBytes(500));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(store.writeUpload(id, good.length, failing)).rejects.toThrow();
    const tail = randomBytes(10);
    expect(await store.writeUpload(id, good.length, Readable.from([tail]))).toBe(good.length + 10);
    expect((await collect(await store.readUpload(id, good.length + 10))).equals(Buffer.concat([good, tail]))).toBe(true);
    await store.abortUpload(id);
  });

  it('commits an empty blob', async () => {
    const id = randomUUID();
    await store.writeUpload(id, 0, Readable.from([]));
    const digest = sha256(Buffer.alloc(0));
    await store.commitUpload(id, 0, digest);
    expect(await store.stat(digest)).toEqual({ size: 0 });
  });

  it('lets two uploads of the same content commit the same digest', async () => {
    const data = randomBytes(4096);
    const digest = sha256(data);
    const ids = [randomUUID(), randomUUID()];
    await Promise.all(ids.map((id) => store.writeUpload(id, 0, Readable.from([data]))));
    await Promise.all(ids.map((id) => store.commitUpload(id, data.length, digest)));
    expect((await collect(await store.read(digest))).equals(data)).toBe(true);
  });

  it('aborts uploads and deletes blobs idempotently', async () => {
    const id = randomUUID();
    await store.writeUpload(id, 0, Readable.from([Buffer.from('x')]));
    await store.abortUpload(id);
    await store.abortUpload(id);
    await expect(store.readUpload(id, 1)).rejects.toThrow();
    const digest = sha256(Buffer.from('never'));
    await store.delete(digest);
    await expect(store.read(digest)).rejects.toThrow();
  });

  it('refuses digests and upload ids that could escape its root', async () => {
    await expect(store.stat('sha256:../../etc/passwd')).rejects.toThrow();
    await expect(store.writeUpload('../../x', 0, Readable.from([Buffer.from('x')]))).rejects.toThrow();
  });
});

describe('filesystem layout', () => {
  it('keeps no upload file once committed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-fs-'));
    try {
      const store = new FsBlobStore(dir);
      await store.init();
      const id = randomUUID();
      const data = randomBytes(10);
      await store.writeUpload(id, 0, Readable.from([data]));
      await store.commitUpload(id, data.length, sha256(data));
      expect(await readdir(join(dir, '_uploads'))).toEqual([]);
      const hex = sha256(data).slice(7);
      expect(await readdir(join(dir, 'sha256', hex.slice(0, 2)))).toEqual([hex]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

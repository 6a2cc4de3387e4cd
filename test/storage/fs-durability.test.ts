// When the filesystem driver's writes wait for the disk, and what a failed fdatasync leaves.
// Real files; fdatasync itself is held back (or failed) by wrapping FileHandle.datasync, so
// the order of events can be observed without a slow or broken disk.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/storage/fs-store.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as const;

/** Every fdatasync in this process waits for `release()` (or fails with `fail()`). */
class HeldSyncs {
  private readonly original: () => Promise<void>;
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  started = 0;

  constructor(private readonly proto: { datasync: () => Promise<void> }) {
    this.original = proto.datasync;
    const self = this;
    proto.datasync = function (this: unknown) {
      self.started++;
      return new Promise<void>((resolve, reject) => self.waiting.push({ resolve, reject })).then(() => self.original.call(this));
    };
  }

  release(): void {
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  fail(): void {
    for (const w of this.waiting.splice(0)) w.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
  }

  restore(): void {
    this.release();
    this.proto.datasync = this.original;
  }
}

/** Resolves to 'pending' if `p` has not settled after the event loop has had time to run. */
async function stateOf(p: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  const settled = p.then(
    () => 'resolved' as const,
    () => 'rejected' as const,
  );
  return Promise.race([settled, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 200))]);
}

describe('filesystem store: when writes wait for the disk', () => {
  let dir: string;
  let store: FsBlobStore;
  let syncs: HeldSyncs;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-fsync-'));
    store = new FsBlobStore(dir);
    await store.init();
  });
  afterEach(() => syncs?.restore());
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  async function holdSyncs(): Promise<HeldSyncs> {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    syncs = new HeldSyncs(proto);
    return syncs;
  }

  it('answers a chunk before its fdatasync ends; commit and the next chunk wait for it', async () => {
    const held = await holdSyncs();
    const id = randomUUID();
    const a = randomBytes(3 * MiB);
    const b = randomBytes(MiB + 17);
    // Non-durable: resolves although the disk has not confirmed anything.
    expect(await store.writeUpload(id, 0, Readable.from([a]), undefined, { durable: false })).toBe(a.length);
    expect(held.started).toBeGreaterThan(0);

    const next = store.writeUpload(id, a.length, Readable.from([b]), undefined, { durable: false });
    expect(await stateOf(next)).toBe('pending');
    held.release();
    expect(await next).toBe(a.length + b.length);

    const whole = Buffer.concat([a, b]);
    const digest = sha256(whole);
    const commit = store.commitUpload(id, whole.length, digest);
    expect(await stateOf(commit)).toBe('pending');
    held.release();
    // The commit's own sync is held too: release until it is through.
    while ((await stateOf(commit)) === 'pending') held.release();
    await commit;
    expect((await readFile(join(dir, 'sha256', digest.slice(7, 9), digest.slice(7)))).equals(whole)).toBe(true);
  });

  it('a durable write (the one publishing next) waits for its fdatasync', async () => {
    const held = await holdSyncs();
    const id = randomUUID();
    const data = randomBytes(2 * MiB);
    const write = store.writeUpload(id, 0, Readable.from([data]));
    expect(await stateOf(write)).toBe('pending');
    while ((await stateOf(write)) === 'pending') held.release();
    expect(await write).toBe(data.length);
    await store.abortUpload(id);
  });

  it('a failed background fdatasync empties the upload: its bytes can be neither resumed nor published', async () => {
    const held = await holdSyncs();
    const id = randomUUID();
    const data = randomBytes(MiB);
    expect(await store.writeUpload(id, 0, Readable.from([data]), undefined, { durable: false })).toBe(data.length);
    held.fail();
    await expect(store.writeUpload(id, data.length, Readable.from([randomBytes(10)]), undefined, { durable: false })).rejects.toThrow(/holds 0 bytes/);
    held.restore();
    await expect(store.commitUpload(id, data.length, sha256(data))).rejects.toThrow(/holds 0 bytes/);
    expect(await store.stat(sha256(data))).toBeNull();
    await store.abortUpload(id);
  });
});

import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, access, constants } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobDigest, BlobStore, ByteRange } from './blob-store.js';

const UPLOAD_ID = /^[0-9a-f-]{36}$/;

/**
 * Content-addressed blobs on a local filesystem:
 *   <root>/sha256/<2 hex>/<hex>   committed blobs, written once via fsync + rename
 *   <root>/_uploads/<uuid>        in-progress uploads (same filesystem, so rename is atomic)
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'filesystem';
  private readonly uploadsDir: string;

  constructor(private readonly root: string) {
    this.uploadsDir = join(root, '_uploads');
  }

  async init(): Promise<void> {
    await mkdir(this.uploadsDir, { recursive: true });
  }

  private blobPath(digest: BlobDigest): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    // The domain validated the digest; this guards the path against anything that slipped past.
    if (!/^(sha256|sha512)$/.test(algorithm) || !/^[a-f0-9]{64,128}$/.test(hex)) {
      throw new Error(`refusing unvalidated digest ${digest}`);
    }
    return join(this.root, algorithm, hex.slice(0, 2), hex);
  }

  private uploadPath(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new Error(`refusing invalid upload id ${uploadId}`);
    return join(this.uploadsDir, uploadId);
  }

  async stat(digest: BlobDigest): Promise<{ size: number } | null> {
    try {
      const s = await stat(this.blobPath(digest));
      return { size: s.size };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(digest: BlobDigest, range?: ByteRange): Promise<Readable> {
    const path = this.blobPath(digest);
    // Open first so a missing file is an error here, not mid-response.
    const handle = await open(path, 'r');
    // The stream owns the handle and closes it when done or destroyed.
    return handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: 2 * 1024 * 1024 });
  }

  async delete(digest: BlobDigest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async writeUpload(uploadId: string, offset: number, source: Readable, onData?: (chunk: Buffer) => void): Promise<number> {
    const path = this.uploadPath(uploadId);
    const handle = await open(path, 'a+').catch(async (err: unknown) => {
      if (!isNotFound(err)) throw err;
      await mkdir(this.uploadsDir, { recursive: true });
      return open(path, 'a+');
    });
    try {
      // Bytes beyond the acknowledged offset come from a write that was interrupted.
      const current = (await handle.stat()).size;
      if (current > offset) await handle.truncate(offset);
      else if (current < offset) throw new Error(`upload ${uploadId} holds ${current} bytes, database says ${offset}`);
    } finally {
      await handle.close();
    }
    let written = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        written += chunk.length;
        onData?.(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(source, counter, createWriteStream(path, { flags: 'r+', start: offset, highWaterMark: 1024 * 1024 }));
    return offset + written;
  }

  async readUpload(uploadId: string, size: number): Promise<Readable> {
    const path = this.uploadPath(uploadId);
    if (size === 0) return Readable.from([]);
    const handle = await open(path, 'r');
    return handle.createReadStream({ start: 0, end: size - 1, highWaterMark: 1024 * 1024 });
  }

  async commitUpload(uploadId: string, size: number, digest: BlobDigest): Promise<void> {
    const source = this.uploadPath(uploadId);
    const target = this.blobPath(digest);
    const handle = await open(source, 'a+');
    try {
      if ((await handle.stat()).size !== size) await handle.truncate(size);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await mkdir(dirname(target), { recursive: true });
    // rename(2) replaces atomically: a concurrent commit of the same digest has identical bytes.
    await rename(source, target);
    await syncDir(dirname(target));
  }

  async abortUpload(uploadId: string): Promise<void> {
    await rm(this.uploadPath(uploadId), { force: true });
  }

  async check(): Promise<void> {
    await access(this.root, constants.W_OK);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ENOENT';
}

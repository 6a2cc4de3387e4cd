import { constants } from 'node:fs';
import { access, mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type { BlobDigest, BlobStore, ByteRange, WriteOptions } from './blob-store.js';

const UPLOAD_ID = /^[0-9a-f-]{36}$/;

/**
 * Upload bytes are gathered into writes of this size (one `writev` of the socket's chunks,
 * no copy), with at most WRITES_IN_FLIGHT of them queued in the thread pool while the
 * socket keeps being read: receiving, hashing and writing overlap.
 */
const WRITE_BATCH = 1024 * 1024;
const WRITES_IN_FLIGHT = 3;
/**
 * While an upload streams, its bytes are flushed to disk (fdatasync, in the background, one
 * at a time) every this many bytes, so the fsync that publishing needs has little left to do.
 */
const SYNC_STEP = 8 * 1024 * 1024;
/** Reads of committed blobs: chunks this large, this many read ahead of the socket. */
const READ_CHUNK = 1024 * 1024;
const READS_AHEAD = 2;
/**
 * Buffers for writeTo, reused from one response to the next: allocating a fresh buffer per
 * chunk makes V8 count gigabytes of external memory, and every 64 MB or so of it starts a
 * full-heap marking (a quarter of a pull's CPU time before this pool).
 */
const bufferPool: Buffer[] = [];
const POOL_MAX = 8;

function takeBuffer(): Buffer {
  return bufferPool.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK);
}

function giveBack(buffer: Buffer): void {
  if (bufferPool.length < POOL_MAX) bufferPool.push(buffer);
}

/**
 * Content-addressed blobs on a local filesystem:
 *   <root>/sha256/<2 hex>/<hex>   committed blobs, written once via fsync + rename
 *   <root>/_uploads/<uuid>        in-progress uploads (same filesystem, so rename is atomic)
 *
 * Durability: a write that publishes next (`durable`) ends with an fdatasync of the upload
 * file and remembers (in this process) the size it made durable; commitUpload fsyncs again
 * only when it cannot tell the bytes are already on disk. Any other write (a PATCH) answers
 * once its bytes are in the page cache: its last fdatasync finishes in the background (the
 * next write, commit or abort of that upload waits for it), so a chunked push never waits
 * for the disk between chunks. Nothing unsynced can be published: commit syncs first. A
 * failed fdatasync empties the upload file, so the lost bytes can never be published: the
 * next write or commit of that upload fails instead (its size no longer matches).
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'filesystem';
  private readonly uploadsDir: string;
  /** Upload id -> the size this process last wrote and fdatasync'ed completely. */
  private readonly durable = new Map<string, number>();
  /** Upload id -> the background fdatasync (and close) still running after a non-durable write. */
  private readonly trailing = new Map<string, Promise<void>>();
  /** Fan-out directories known to exist (created or seen by this process). */
  private readonly knownDirs = new Set<string>();
  /** Open read-only handles on fan-out directories, for their fsync after a rename. */
  private readonly dirHandles = new Map<string, Promise<FileHandle>>();

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
    try {
      const end = range ? range.end + 1 : (await handle.stat()).size;
      return new FileReader(handle, range?.start ?? 0, end);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async delete(digest: BlobDigest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async writeUpload(uploadId: string, offset: number, source: Readable, onData?: (chunk: Buffer) => void, options: WriteOptions = {}): Promise<number> {
    const path = this.uploadPath(uploadId);
    await this.trailingSync(uploadId);
    this.durable.delete(uploadId);
    // At offset 0 the whole file is "past the acknowledged offset": O_TRUNC discards it.
    const flags = constants.O_RDWR | constants.O_CREAT | (offset === 0 ? constants.O_TRUNC : 0);
    const handle = await open(path, flags, 0o644).catch(async (err: unknown) => {
      if (!isNotFound(err)) throw err;
      await mkdir(this.uploadsDir, { recursive: true });
      return open(path, flags, 0o644);
    });
    let handedOff = false;
    try {
      if (offset > 0) {
        // Bytes beyond the acknowledged offset come from a write that was interrupted.
        const current = (await handle.stat()).size;
        if (current > offset) await handle.truncate(offset);
        else if (current < offset) throw new Error(`upload ${uploadId} holds ${current} bytes, database says ${offset}`);
      }
      const writer = new UploadWriter(handle, offset);
      try {
        for await (const chunk of source) {
          const buf = chunk as Buffer;
          onData?.(buf);
          await writer.add(buf);
        }
        await writer.drain();
      } catch (err) {
        await writer.settle();
        throw err;
      }
      if (options.durable === false) {
        // The caller answers now; the handle closes once its last bytes are on disk.
        handedOff = true;
        this.finishInBackground(uploadId, handle, writer);
        return writer.position;
      }
      await writer.syncAll();
      this.rememberDurable(uploadId, writer.position);
      return writer.position;
    } catch (err) {
      if (isSyncFailure(err)) await handle.truncate(0).catch(() => undefined);
      throw err;
    } finally {
      if (!handedOff) await handle.close();
    }
  }

  /**
   * The trailing fdatasync of a non-durable write. Success makes the size durable as a
   * synchronous write would have (the commit then needs no fsync of its own); a failure
   * empties the file (see the class comment).
   */
  private finishInBackground(uploadId: string, handle: FileHandle, writer: UploadWriter): void {
    const done: Promise<void> = writer
      .syncAll()
      .then(
        () => {
          // Nothing else can write this upload before `done` settles: the next write waits for it.
          if (this.trailing.get(uploadId) === done) this.rememberDurable(uploadId, writer.position);
        },
        () => handle.truncate(0).catch(() => undefined),
      )
      .finally(async () => {
        await handle.close().catch(() => undefined);
        if (this.trailing.get(uploadId) === done) this.trailing.delete(uploadId);
      });
    this.trailing.set(uploadId, done);
  }

  /** Only a hint (a missing entry means commitUpload fsyncs again): bounded, never stale-unsafe. */
  private rememberDurable(uploadId: string, size: number): void {
    if (this.durable.size >= 10_000) this.durable.clear();
    this.durable.set(uploadId, size);
  }

  /** Waits for the background fdatasync of the upload's previous write, if one is running. */
  private async trailingSync(uploadId: string): Promise<void> {
    await this.trailing.get(uploadId);
  }

  async readUpload(uploadId: string, size: number): Promise<Readable> {
    const path = this.uploadPath(uploadId);
    if (size === 0) return Readable.from([]);
    const handle = await open(path, 'r');
    return new FileReader(handle, 0, size);
  }

  async commitUpload(uploadId: string, size: number, digest: BlobDigest): Promise<void> {
    await this.trailingSync(uploadId);
    const source = this.uploadPath(uploadId);
    const target = this.blobPath(digest);
    const durable = this.durable.get(uploadId);
    this.durable.delete(uploadId);
    // Written and fdatasync'ed to exactly `size` by this process: only a later, interrupted
    // (never acknowledged) write could have changed the file, and that would show in its size.
    if (durable !== size || (await stat(source)).size !== size) {
      // Created when absent: an empty upload never wrote a byte.
      const handle = await open(source, constants.O_RDWR | constants.O_CREAT, 0o644);
      try {
        const current = (await handle.stat()).size;
        if (current < size) throw new Error(`upload ${uploadId} holds ${current} bytes, expected ${size}`);
        if (current > size) await handle.truncate(size);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    const dir = dirname(target);
    if (!this.knownDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.knownDirs.add(dir);
    }
    // rename(2) replaces atomically: a concurrent commit of the same digest has identical bytes.
    try {
      await rename(source, target);
    } catch (err) {
      if (!isNotFound(err) || !this.knownDirs.has(dir)) throw err;
      // The directory went away behind this process's back: make it again.
      this.forgetDir(dir);
      await mkdir(dir, { recursive: true });
      this.knownDirs.add(dir);
      await rename(source, target);
    }
    await this.syncDir(dir);
  }

  async abortUpload(uploadId: string): Promise<void> {
    this.durable.delete(uploadId);
    await this.trailingSync(uploadId);
    await rm(this.uploadPath(uploadId), { force: true });
  }

  async check(): Promise<void> {
    await access(this.root, constants.W_OK);
  }

  /** fsync of a fan-out directory through a handle kept open (at most 256 per algorithm). */
  private async syncDir(dir: string): Promise<void> {
    let handle = this.dirHandles.get(dir);
    if (!handle) {
      handle = open(dir, 'r');
      this.dirHandles.set(dir, handle);
      handle.catch(() => this.dirHandles.delete(dir));
    }
    await (await handle).sync();
  }

  private forgetDir(dir: string): void {
    this.knownDirs.delete(dir);
    const handle = this.dirHandles.get(dir);
    this.dirHandles.delete(dir);
    handle?.then((h) => h.close()).catch(() => undefined);
  }
}

class SyncFailure extends Error {}

function isSyncFailure(err: unknown): boolean {
  return err instanceof SyncFailure;
}

/**
 * Writes an upload's chunks at increasing positions in batches, several batches in flight,
 * flushing to disk in the background every SYNC_STEP bytes.
 */
class UploadWriter {
  /** Received chunks not yet handed to the file system (written with one writev, no copy). */
  private batch: Buffer[] = [];
  private batchBytes = 0;
  /** Next byte position to hand to the file system. */
  position: number;
  private readonly writes = new Set<Promise<void>>();
  private writeError: unknown;
  private syncing: Promise<void> | undefined;
  private unsynced = 0;
  syncFailed: SyncFailure | undefined;

  constructor(
    private readonly handle: FileHandle,
    start: number,
  ) {
    this.position = start;
  }

  async add(chunk: Buffer): Promise<void> {
    if (this.writeError) throw this.writeError;
    if (this.syncFailed) throw this.syncFailed;
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= WRITE_BATCH) {
      this.flush();
      // Back-pressure: the socket is not read while the thread pool is this far behind.
      while (this.writes.size >= WRITES_IN_FLIGHT) await Promise.race(this.writes);
      if (this.writeError) throw this.writeError;
    }
  }

  private flush(): void {
    if (this.batchBytes === 0) return;
    const buffers = this.batch;
    const at = this.position;
    const length = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    this.position += length;
    const write: Promise<void> = writeAll(this.handle, buffers, at, length).then(
      () => {
        this.writes.delete(write);
        this.unsynced += length;
        if (this.unsynced >= SYNC_STEP) this.syncInBackground();
      },
      (err: unknown) => {
        this.writes.delete(write);
        this.writeError ??= err;
      },
    );
    this.writes.add(write);
  }

  /** Starts an fdatasync unless one is running; its failure fails the upload. */
  private syncInBackground(): void {
    if (this.syncing) return;
    this.unsynced = 0;
    this.syncing = this.handle.datasync().then(
      () => {
        this.syncing = undefined;
      },
      (err: unknown) => {
        this.syncing = undefined;
        this.syncFailed ??= new SyncFailure(`fdatasync of an upload failed: ${(err as Error).message}`);
      },
    );
  }

  /** Writes what is left and waits for every write (not for the syncs). */
  async drain(): Promise<void> {
    this.flush();
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    if (this.writeError) throw this.writeError;
    if (this.syncFailed) throw this.syncFailed;
  }

  /** Makes every byte written so far durable. */
  async syncAll(): Promise<void> {
    if (this.syncing) await this.syncing;
    if (this.syncFailed) throw this.syncFailed;
    try {
      await this.handle.datasync();
    } catch (err) {
      throw new SyncFailure(`fdatasync of an upload failed: ${(err as Error).message}`);
    }
  }

  /** Waits until no write or sync is in flight (before the handle may be closed). */
  async settle(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    if (this.syncing) await this.syncing;
  }
}

/** One positional writev of `buffers`, continued until every byte is written. */
async function writeAll(handle: FileHandle, buffers: Buffer[], position: number, length: number): Promise<void> {
  let { bytesWritten } = await handle.writev(buffers, position);
  while (bytesWritten < length) {
    // Short write (rare on regular files): write the rest from where it stopped.
    const rest = Buffer.concat(buffers).subarray(bytesWritten);
    const more = await handle.write(rest, 0, rest.length, position + bytesWritten);
    if (more.bytesWritten === 0) throw new Error('short write to an upload file');
    bytesWritten += more.bytesWritten;
  }
}

/**
 * A file (or a byte range of it) as a stream: large chunks read ahead of the consumer, each
 * in a buffer of its own (the socket may still be sending the previous ones). Owns the
 * handle and closes it when done or destroyed.
 */
class FileReader extends Readable {
  private position: number;
  /** Reads in flight or done but not yet pushed, in file order. */
  private readonly queue: { read: Promise<void>; buffer: Buffer | null }[] = [];

  constructor(
    private readonly handle: FileHandle,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: READ_CHUNK * READS_AHEAD });
    this.position = start;
  }

  /** The consumer asked for more (_read) and push() has not said stop since. */
  private wanted = false;

  override _read(): void {
    this.wanted = true;
    this.deliver();
  }

  private fill(): void {
    while (this.queue.length < READS_AHEAD && this.position < this.end) {
      const length = Math.min(READ_CHUNK, this.end - this.position);
      const buffer = Buffer.allocUnsafeSlow(length);
      const at = this.position;
      this.position += length;
      const slot: { read: Promise<void>; buffer: Buffer | null } = { read: Promise.resolve(), buffer: null };
      slot.read = this.handle.read(buffer, 0, length, at).then(
        ({ bytesRead }) => {
          if (bytesRead < length) throw new Error(`blob file ended ${length - bytesRead} bytes early`);
          slot.buffer = buffer;
          this.deliver();
        },
        (err: unknown) => {
          this.destroy(err as Error);
        },
      );
      slot.read.catch((err: unknown) => this.destroy(err as Error));
      this.queue.push(slot);
    }
    if (this.position >= this.end && this.queue.length === 0 && this.wanted) {
      this.wanted = false;
      this.push(null);
    }
  }

  private deliver(): void {
    if (this.destroyed) return;
    // In file order: a later chunk may finish reading first.
    while (this.wanted && this.queue.length > 0 && this.queue[0]!.buffer !== null) {
      const { buffer } = this.queue.shift()!;
      this.wanted = this.push(buffer);
    }
    // Read ahead (at most READS_AHEAD chunks) even while the consumer is busy.
    this.fill();
  }

  /**
   * Sends the bytes to `out` without going through the stream machinery: each chunk is read
   * into a pooled buffer while the previous one is being written, and the buffer goes back to
   * the pool once `out` has handed it to the kernel (its write callback). Ends `out`. The
   * reader must not have been read from. Rejects if `out` closes early or a read fails.
   */
  async writeTo(out: Writable): Promise<void> {
    let closed = false;
    let wake: (() => void) | undefined;
    const onClose = () => {
      closed = true;
      wake?.();
    };
    out.once('close', onClose);
    const inFlight = new Set<Buffer>();
    let writeError: Error | undefined;
    try {
      let next = this.readPooled();
      while (next) {
        const chunk = await next;
        if (closed || writeError) break;
        next = this.readPooled();
        inFlight.add(chunk.buffer);
        const ok = out.write(chunk.data, (err) => {
          inFlight.delete(chunk.buffer);
          if (err) writeError ??= err;
          else giveBack(chunk.buffer);
          wake?.();
        });
        if (!ok) {
          // Wait for the socket (or its closing) before reading further ahead.
          while (!closed && !writeError && out.writableNeedDrain) {
            await new Promise<void>((resolve) => {
              wake = resolve;
              out.once('drain', resolve);
            });
            out.removeListener('drain', wake!);
            wake = undefined;
          }
        }
      }
      if (next) {
        // Stopped early: let the read in flight finish before the handle closes.
        await next.then((c) => giveBack(c.buffer)).catch(() => undefined);
      }
      if (closed) throw new Error('the connection closed before the blob was sent');
      if (writeError) throw writeError;
      out.end();
    } finally {
      out.removeListener('close', onClose);
      this.position = this.end;
      // Closes the handle (_destroy).
      this.destroy();
    }
  }

  /** The next chunk in a pooled buffer, or undefined at the end. */
  private readPooled(): Promise<{ buffer: Buffer; data: Buffer }> | undefined {
    if (this.position >= this.end) return undefined;
    const length = Math.min(READ_CHUNK, this.end - this.position);
    const at = this.position;
    this.position += length;
    const buffer = takeBuffer();
    return this.handle.read(buffer, 0, length, at).then(({ bytesRead }) => {
      if (bytesRead < length) throw new Error(`blob file ended ${length - bytesRead} bytes early`);
      return { buffer, data: buffer.subarray(0, length) };
    });
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // Reads still in flight use the handle: close it once they are done.
    const reads = this.queue.map((slot) => slot.read);
    this.queue.length = 0;
    void Promise.allSettled(reads)
      .then(() => this.handle.close())
      // A read-only handle: nothing to lose if closing fails.
      .catch(() => undefined)
      .then(() => callback(err));
  }
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ENOENT';
}

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobDigest, BlobStore, ByteRange } from './blob-store.js';
import { MAX_PART_SIZE, MIN_PART_SIZE, type S3StoreOptions } from './s3-url.js';

const UPLOAD_ID = /^[0-9a-f-]{36}$/;
/** S3 allows 10,000 parts; one is kept spare for a short last part. */
const MAX_PARTS = 9_999;
/** Server-side part copies in flight during one commit (no bytes pass through this process). */
const COPY_CONCURRENCY = 8;
const OFFSET_DIGITS = 16;

/** One staged object of an upload: bytes [start, start + size) of the upload. */
interface StagedPart {
  key: string;
  start: number;
  size: number;
}

interface Staging {
  /** staged parts by start offset */
  parts: Map<number, StagedPart>;
  /** keys of commit manifests (`multipart/<uuid>`), each naming a multipart upload in flight */
  manifests: string[];
  /** every key under the upload's prefix */
  keys: string[];
}

/** A slice of a staged part that belongs to the upload's first `size` bytes. */
interface Segment {
  part: StagedPart;
  /** bytes of the staged part used, from its start */
  length: number;
}

interface CommitManifest {
  key: string;
  uploadId: string;
}

/**
 * Content-addressed blobs in an S3 bucket (AWS S3, MinIO, Ceph RGW, ...):
 *   <prefix>/blobs/<alg>/<2 hex>/<hex>             committed blobs, written once
 *   <prefix>/uploads/<uuid>/parts/<16-digit offset> staged bytes of an upload, one object per
 *                                                  part (at most partSize), named by start offset
 *   <prefix>/uploads/<uuid>/multipart/<uuid>       a commit in flight: names its multipart upload
 *                                                  so an abort or a later commit can end it
 *
 * Every upload state lives in the bucket (plus the offset the caller's database vouches
 * for), so consecutive chunks may land on different processes or nodes. A chunk streams
 * through at most two part buffers (one filling, one uploading). Commit assembles the
 * final object with a multipart upload from server-side part copies of the staged
 * objects (re-uploading only runs of parts under 5 MiB), or one CopyObject/PutObject when
 * small. Nothing lists the bucket except an upload's own staging prefix.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly root: string;
  private readonly partSize: number;
  /** false once the server answered NotImplemented to UploadPartCopy (s3rver, some gateways) */
  private partCopySupported = true;
  /** false once the server refused DeleteObjects (some S3-compatible services) */
  private multiDeleteSupported = true;

  constructor(private readonly options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.root = options.prefix ? `${options.prefix}/` : '';
    this.partSize = Math.min(Math.max(options.partSize, MIN_PART_SIZE), MAX_PART_SIZE);
    const config: S3ClientConfig = {
      forcePathStyle: options.forcePathStyle,
      // Checksums only where S3 demands them: S3-compatible servers differ in what
      // else they accept (aws-chunked bodies, CRC trailers), and digests are checked anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        // Each blob read in progress holds a socket until the client has pulled it.
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
        connectionTimeout: 10_000,
        // A socket idle this long fails the request (a blob read whose client stalls as long is cut).
        requestTimeout: 120_000,
      },
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    const region = options.region ?? (options.endpoint ? 'us-east-1' : undefined);
    if (region) config.region = region;
    if (options.credentials) config.credentials = options.credentials;
    this.client = new S3Client(config);
  }

  // ---- keys

  private blobKey(digest: BlobDigest): string {
    const [algorithm, hex] = digest.split(':') as [string, string | undefined];
    // The domain validated the digest; this guards the key against anything that slipped past.
    if (!/^(sha256|sha512)$/.test(algorithm) || !hex || !/^[a-f0-9]{64,128}$/.test(hex)) {
      throw new Error(`refusing unvalidated digest ${digest}`);
    }
    return `${this.root}blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
  }

  private uploadPrefix(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new Error(`refusing invalid upload id ${uploadId}`);
    return `${this.root}uploads/${uploadId}/`;
  }

  private partKey(uploadId: string, start: number): string {
    return `${this.uploadPrefix(uploadId)}parts/${String(start).padStart(OFFSET_DIGITS, '0')}`;
  }

  private encryption(): { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } {
    return {
      ...(this.options.sse ? { ServerSideEncryption: this.options.sse } : {}),
      ...(this.options.sseKmsKeyId ? { SSEKMSKeyId: this.options.sseKmsKeyId } : {}),
    };
  }

  private blobAttributes() {
    return {
      ContentType: 'application/octet-stream',
      ...this.encryption(),
      ...(this.options.storageClass ? { StorageClass: this.options.storageClass as StorageClass } : {}),
    };
  }

  // ---- committed blobs

  async stat(digest: BlobDigest): Promise<{ size: number } | null> {
    const size = await this.headSize(this.blobKey(digest));
    return size === null ? null : { size };
  }

  private async headSize(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(digest: BlobDigest, range?: ByteRange): Promise<Readable> {
    const key = this.blobKey(digest);
    // GetObject resolves once the headers are in: a missing blob is an error here, not mid-response.
    const out = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
    );
    return out.Body as Readable;
  }

  async delete(digest: BlobDigest): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
  }

  /**
   * A time-limited URL a client can GET the blob from directly (for redirecting pulls).
   * It is signed with this process's credentials, so it lives at most as long as they do.
   */
  async presignedReadUrl(digest: BlobDigest, expiresSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }), { expiresIn: expiresSeconds });
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const what = status === 404 ? 'does not exist' : status === 403 ? 'is not accessible with these credentials' : `is unreachable`;
      throw new Error(`S3 bucket ${this.bucket} ${what}: ${errorText(err)}`);
    }
  }

  // ---- uploads

  async writeUpload(uploadId: string, offset: number, source: Readable, onData?: (chunk: Buffer) => void): Promise<number> {
    const prefix = this.uploadPrefix(uploadId);
    const staging = await this.listStaging(prefix);
    await this.truncateStaging(uploadId, staging, offset);

    const partSize = this.partSize;
    // At most two part buffers: one fills from the source while the other uploads.
    const free: Buffer[] = [];
    let current: Buffer | undefined;
    let filled = 0;
    let flushed = 0; // bytes of this write handed to part uploads
    let inflight: Promise<void> | undefined; // never rejects: failures land in `failure`
    let failure: { error: unknown } | undefined;
    const written: string[] = [];

    const flush = async () => {
      if (!current || filled === 0) return;
      if (inflight) await inflight;
      if (failure) throw failure.error;
      const buffer = current;
      const body = buffer.subarray(0, filled);
      const key = this.partKey(uploadId, offset + flushed);
      written.push(key);
      flushed += filled;
      current = undefined;
      filled = 0;
      inflight = this.client
        .send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: 'application/octet-stream', ...this.encryption() }))
        .then(
          () => {
            free.push(buffer);
          },
          (error: unknown) => {
            failure ??= { error };
          },
        );
    };

    let received = 0;
    try {
      for await (const data of source) {
        const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
        received += chunk.length;
        onData?.(chunk);
        let at = 0;
        while (at < chunk.length) {
          if (!current) current = takeBuffer(free, partSize);
          const n = chunk.copy(current, filled, at, Math.min(chunk.length, at + partSize - filled));
          filled += n;
          at += n;
          if (filled === partSize) await flush();
        }
        if (failure) throw failure.error;
      }
      await flush();
      if (inflight) await inflight;
      if (failure) throw failure.error;
    } catch (err) {
      // Let the part upload in flight settle, then drop what this write staged: the database
      // never acknowledged it, and the next write at `offset` replaces it anyway.
      if (inflight) await inflight;
      await this.deleteKeys(written).catch(() => undefined);
      throw err;
    }
    return offset + received;
  }

  async readUpload(uploadId: string, size: number): Promise<Readable> {
    const prefix = this.uploadPrefix(uploadId);
    if (size === 0) return Readable.from([]);
    const segments = this.segments(uploadId, await this.listStaging(prefix), size);
    return Readable.from(this.streamSegments(segments), { objectMode: false });
  }

  async commitUpload(uploadId: string, size: number, digest: BlobDigest): Promise<void> {
    const prefix = this.uploadPrefix(uploadId);
    const key = this.blobKey(digest);
    const existing = await this.headSize(key);
    // Content addressing: the same digest means the same bytes. A size that differs means a
    // damaged object, which the verified upload replaces.
    if (existing !== size) {
      const staging = await this.listStaging(prefix);
      const segments = this.segments(uploadId, staging, size);
      await this.assemble(uploadId, key, segments, size);
    }
    await this.removeStaging(prefix);
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.removeStaging(this.uploadPrefix(uploadId));
  }

  // ---- staging

  private async listStaging(prefix: string): Promise<Staging> {
    const staging: Staging = { parts: new Map(), manifests: [], keys: [] };
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (!object.Key) continue;
        staging.keys.push(object.Key);
        const rest = object.Key.slice(prefix.length);
        const part = /^parts\/(\d{16})$/.exec(rest);
        if (part) {
          const start = Number(part[1]);
          staging.parts.set(start, { key: object.Key, start, size: object.Size ?? 0 });
        } else if (rest.startsWith('multipart/')) {
          staging.manifests.push(object.Key);
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return staging;
  }

  /**
   * The staged parts that make up the upload's first `size` bytes, in order: a chain from
   * offset 0, each part starting where the previous ended. Parts off the chain are left
   * over from interrupted writes and are ignored.
   */
  private segments(uploadId: string, staging: Staging, size: number): Segment[] {
    const segments: Segment[] = [];
    let at = 0;
    while (at < size) {
      const part = staging.parts.get(at);
      if (!part || part.size === 0) throw new Error(`upload ${uploadId} holds ${at} bytes in storage, the database says ${size}`);
      const length = Math.min(part.size, size - at);
      segments.push({ part, length });
      at += length;
    }
    return segments;
  }

  /**
   * Makes the staged parts end exactly at `offset`: parts starting at or past it come from
   * writes that were never acknowledged and go; a part that straddles it is cut back.
   */
  private async truncateStaging(uploadId: string, staging: Staging, offset: number): Promise<void> {
    const segments = this.segments(uploadId, staging, offset);
    const last = segments[segments.length - 1];
    if (last && last.length < last.part.size) {
      // Not produced by the registry's own write sequence, but cheap to repair: at most one part.
      const bytes = await this.readRange(last.part.key, 0, last.length);
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: last.part.key, Body: bytes, ContentLength: bytes.length, ContentType: 'application/octet-stream', ...this.encryption() }),
      );
    }
    const stale = [...staging.parts.values()].filter((p) => p.start >= offset).map((p) => p.key);
    await this.deleteKeys(stale);
  }

  private async *streamSegments(segments: Segment[]): AsyncGenerator<Buffer> {
    for (const { part, length } of segments) {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: part.key, ...(length < part.size ? { Range: `bytes=0-${length - 1}` } : {}) }),
      );
      let left = length;
      for await (const data of out.Body as Readable) {
        // Yield no more than asked, whatever range the server honoured.
        if (left === 0) continue;
        const chunk = data as Buffer;
        const piece = chunk.length > left ? chunk.subarray(0, left) : chunk;
        left -= piece.length;
        yield piece;
      }
      if (left > 0) throw new Error(`staged part ${part.key} ended ${left} bytes early`);
    }
  }

  /** Reads bytes [start, start + length) of an object into `into` at `at` (or a new buffer). */
  private async readRange(key: string, start: number, length: number, into?: Buffer, at = 0): Promise<Buffer> {
    const target = into ?? Buffer.allocUnsafe(length);
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${start + length - 1}` }));
    const body = out.Body as Readable;
    let copied = 0;
    for await (const data of body) {
      // Copy no more than asked, whatever range the server honoured.
      if (copied < length) copied += (data as Buffer).copy(target, at + copied, 0, Math.min((data as Buffer).length, length - copied));
    }
    if (copied < length) throw new Error(`${key} ended ${length - copied} bytes early`);
    return into ? target : target.subarray(0, length);
  }

  /** Deletes every object under an upload's prefix, ending any multipart upload a commit left. */
  private async removeStaging(prefix: string): Promise<void> {
    const staging = await this.listStaging(prefix);
    for (const manifestKey of staging.manifests) {
      const manifest = await this.readManifest(manifestKey);
      if (manifest) await this.abortMultipart(manifest);
    }
    await this.deleteKeys(staging.keys);
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      if (batch.length > 1 && this.multiDeleteSupported) {
        try {
          const out = await this.client.send(
            new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
          );
          const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
          if (failed.length > 0) {
            throw new Error(`could not delete ${failed.length} staged object(s), e.g. ${failed[0]?.Key}: ${failed[0]?.Code} ${failed[0]?.Message ?? ''}`);
          }
          continue;
        } catch (err) {
          // Some S3-compatible services lack DeleteObjects, or want a Content-MD5 the SDK no longer sends.
          if (!['NotImplemented', 'MissingContentMD5', 'InvalidRequest', 'InvalidDigest'].includes(errorCode(err))) throw err;
          this.multiDeleteSupported = false;
        }
      }
      const group = new TaskGroup(8);
      for (const Key of batch) {
        await group.add(async () => {
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
        });
      }
      await group.wait();
    }
  }

  // ---- commit

  /** Writes the upload's bytes once, at the blob's key. */
  private async assemble(uploadId: string, key: string, segments: Segment[], size: number): Promise<void> {
    const first = segments[0];
    if (size === 0) {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, ...this.blobAttributes() }));
    } else if (segments.length === 1 && first && first.length === first.part.size && size <= MAX_PART_SIZE) {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: key,
          CopySource: copySource(this.bucket, first.part.key),
          MetadataDirective: 'REPLACE',
          ...this.blobAttributes(),
        }),
      );
    } else if (size < MIN_PART_SIZE) {
      const body = Buffer.allocUnsafe(size);
      let at = 0;
      for (const { part, length } of segments) {
        await this.readRange(part.key, 0, length, body, at);
        at += length;
      }
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: size, ...this.blobAttributes() }));
    } else {
      try {
        await this.assembleMultipart(uploadId, key, segments, size, this.partCopySupported);
      } catch (err) {
        if (!(this.partCopySupported && errorCode(err) === 'NotImplemented')) throw err;
        // The server cannot copy parts: pass the bytes through this process instead.
        this.partCopySupported = false;
        await this.assembleMultipart(uploadId, key, segments, size, false);
      }
    }
  }

  /**
   * Builds the blob with a multipart upload. A staged run of at least `copyMin` bytes is a
   * server-side UploadPartCopy. Shorter runs (chunks under 5 MiB) are read back into one
   * buffer until it holds at least `minPart` bytes, taking whole staged parts where they
   * fit, so that a short run realigns with the staged parts and the copies resume after it;
   * the buffer holds at most minPart + partSize bytes. Every part but the last is at least
   * ceil(size / 9,999) bytes, so a blob never needs more than S3's 10,000 parts.
   */
  private async assembleMultipart(uploadId: string, key: string, segments: Segment[], size: number, copy: boolean): Promise<void> {
    const minPart = Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));
    const copyMin = copy ? minPart : Infinity;
    const capacity = Math.min(minPart + this.partSize, MAX_PART_SIZE);

    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ...this.blobAttributes() }));
    const multipart: CommitManifest = { key, uploadId: created.UploadId ?? '' };
    if (!multipart.uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    // Recorded under the upload's own prefix, so an abort (or a later commit) after a crash here can end it.
    const manifestKey = `${this.uploadPrefix(uploadId)}multipart/${randomUUID()}`;
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: manifestKey, Body: JSON.stringify(multipart), ContentType: 'application/json', ...this.encryption() }),
    );

    const parts: CompletedPart[] = [];
    const copies = new TaskGroup(COPY_CONCURRENCY);
    let buffer: Buffer | undefined;
    let buffered = 0;
    let partNumber = 0;

    const uploadBuffered = async () => {
      if (!buffer || buffered === 0) return;
      const number = ++partNumber;
      const out = await this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: multipart.uploadId, PartNumber: number, Body: buffer.subarray(0, buffered), ContentLength: buffered }),
      );
      parts.push({ PartNumber: number, ETag: out.ETag });
      buffered = 0;
    };

    try {
      for (const { part, length } of segments) {
        let at = 0;
        while (at < length) {
          const remaining = length - at;
          if (buffered === 0 && remaining >= copyMin) {
            // Even pieces, each within S3's 5 GiB part limit.
            const pieces = Math.ceil(remaining / MAX_PART_SIZE);
            const pieceSize = Math.ceil(remaining / pieces);
            for (let from = at; from < length; from += pieceSize) {
              const to = Math.min(length, from + pieceSize);
              const number = ++partNumber;
              const whole = from === 0 && to === part.size;
              await copies.add(async () => {
                const out = await this.client.send(
                  new UploadPartCopyCommand({
                    Bucket: this.bucket,
                    Key: key,
                    UploadId: multipart.uploadId,
                    PartNumber: number,
                    CopySource: copySource(this.bucket, part.key),
                    ...(whole ? {} : { CopySourceRange: `bytes=${from}-${to - 1}` }),
                  }),
                );
                parts.push({ PartNumber: number, ETag: out.CopyPartResult?.ETag });
              });
            }
            at = length;
          } else {
            buffer ??= Buffer.allocUnsafe(capacity);
            const take = Math.min(remaining, capacity - buffered);
            await this.readRange(part.key, at, take, buffer, buffered);
            buffered += take;
            at += take;
            if (buffered >= minPart) await uploadBuffered();
          }
        }
      }
      await uploadBuffered();
      await copies.wait();
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: multipart.uploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      await copies.settle();
      await this.abortMultipart(multipart).catch(() => undefined);
      await this.deleteKeys([manifestKey]).catch(() => undefined);
      throw err;
    }
    await this.deleteKeys([manifestKey]);
  }

  private async readManifest(key: string): Promise<CommitManifest | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const parsed = JSON.parse((await out.Body?.transformToString()) ?? '') as Partial<CommitManifest>;
      return typeof parsed.key === 'string' && typeof parsed.uploadId === 'string' ? { key: parsed.key, uploadId: parsed.uploadId } : null;
    } catch (err) {
      if (isNotFound(err) || err instanceof SyntaxError) return null;
      throw err;
    }
  }

  private async abortMultipart(manifest: CommitManifest): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: manifest.key, UploadId: manifest.uploadId }));
    } catch (err) {
      // Already completed or aborted; or a server without AbortMultipartUpload (s3rver), where
      // only a bucket lifecycle rule for incomplete multipart uploads can reclaim it.
      if (['NoSuchUpload', 'NotImplemented', 'MethodNotAllowed'].includes(errorCode(err)) || isNotFound(err)) return;
      throw err;
    }
  }
}

/** A free part buffer of this size if there is one, otherwise a new one. */
function takeBuffer(free: Buffer[], size: number): Buffer {
  const reused = free.pop();
  return reused && reused.length === size ? reused : Buffer.allocUnsafe(size);
}

/** At most `limit` tasks at once; the first failure stops new ones and is rethrown by wait(). */
class TaskGroup {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  /** Starts `task` once a slot is free; resolves when it has started. */
  async add(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    if (this.failure) throw this.failure.error;
    const done: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(done));
    this.running.add(done);
  }

  async wait(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure.error;
  }

  async settle(): Promise<void> {
    await Promise.all(this.running);
  }
}

function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { Code?: unknown; name?: unknown };
  return typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : '';
}

function isNotFound(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return status === 404 || ['NotFound', 'NoSuchKey'].includes(errorCode(err));
}

function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = errorCode(err);
  return message && message !== 'UnknownError' ? message : code || 'unknown error';
}

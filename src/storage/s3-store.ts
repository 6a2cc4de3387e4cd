import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
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
 *   <prefix>/uploads/<uuid>/index                  the upload's staged parts, [start, size] each
 *   <prefix>/uploads/<uuid>/multipart              a commit in flight: names its multipart upload
 *                                                  so an abort or a later commit can end it
 *
 * Every upload state lives in the bucket (plus the offset the caller's database vouches
 * for), so consecutive chunks may land on different processes or nodes. A chunk streams
 * through at most two part buffers (one filling, one uploading). Commit assembles the
 * final object with a multipart upload from server-side part copies of the staged
 * objects (re-uploading only runs of parts under 5 MiB), or one CopyObject/PutObject when
 * small. Nothing lists the bucket: every key a request touches is derived from a digest,
 * an upload id, or the upload's index.
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
    const kept = await this.truncateStaging(uploadId, offset);

    const partSize = this.partSize;
    // At most two part buffers: one fills from the source while the other uploads.
    const free: Buffer[] = [];
    let current: Buffer | undefined;
    let filled = 0;
    let flushed = 0; // bytes of this write handed to part uploads
    let inflight: Promise<void> | undefined; // never rejects: failures land in `failure`
    let failure: { error: unknown } | undefined;
    const written: StagedPart[] = [];

    const flush = async () => {
      if (!current || filled === 0) return;
      // Parts go out strictly in order (the next starts once the last is stored), so what a
      // dead writer leaves is always a chain from its offset that walkChain can follow.
      if (inflight) await inflight;
      if (failure) throw failure.error;
      const buffer = current;
      const body = buffer.subarray(0, filled);
      const part = { key: this.partKey(uploadId, offset + flushed), start: offset + flushed, size: filled };
      written.push(part);
      flushed += filled;
      current = undefined;
      filled = 0;
      inflight = this.client
        .send(new PutObjectCommand({ Bucket: this.bucket, Key: part.key, Body: body, ContentLength: body.length, ContentType: 'application/octet-stream', ...this.encryption() }))
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
      if (written.length > 0) await this.writeIndex(uploadId, [...kept, ...written]);
    } catch (err) {
      // Let the part upload in flight settle, then drop what this write staged: the database
      // never acknowledged it, and the next write at `offset` replaces it anyway.
      if (inflight) await inflight;
      await this.deleteKeys(written.map((p) => p.key)).catch(() => undefined);
      throw err;
    }
    return offset + received;
  }

  async readUpload(uploadId: string, size: number): Promise<Readable> {
    this.uploadPrefix(uploadId);
    if (size === 0) return Readable.from([]);
    const segments = this.segments(uploadId, await this.stagedParts(uploadId, size), size);
    return Readable.from(this.streamSegments(segments), { objectMode: false });
  }

  async commitUpload(uploadId: string, size: number, digest: BlobDigest): Promise<void> {
    const key = this.blobKey(digest);
    const existing = await this.headSize(key);
    // Content addressing: the same digest means the same bytes. A size that differs means a
    // damaged object, which the verified upload replaces.
    if (existing !== size) {
      const segments = this.segments(uploadId, await this.stagedParts(uploadId, size), size);
      // A commit that died earlier may have left a multipart upload; its record is about to be replaced.
      await this.endRecordedMultipart(uploadId);
      await this.assemble(uploadId, key, segments, size);
    }
    await this.removeStaging(uploadId);
  }

  async abortUpload(uploadId: string): Promise<void> {
    await this.removeStaging(uploadId);
  }

  // ---- staging
  //
  // The bucket is never listed: an upload's parts are named in its index object, which
  // each successful write replaces (writes to one upload are serialised by the caller's
  // database lease), and a write that died before updating the index left a chain of
  // parts from the offset it started at, which HEADs can follow because each part's
  // size says where the next one starts.

  private indexKey(uploadId: string): string {
    return `${this.uploadPrefix(uploadId)}index`;
  }

  private multipartKey(uploadId: string): string {
    return `${this.uploadPrefix(uploadId)}multipart`;
  }

  /**
   * The parts the index names. The index only saves requests: parts always form a chain from
   * offset 0 that walkChain can follow, so an index that is missing, or unreadable (a server
   * that served it half-written), reads as empty and the callers walk the chain instead.
   */
  private async readIndex(uploadId: string): Promise<StagedPart[]> {
    const body = await this.readSmallObject(this.indexKey(uploadId));
    if (body === null) return [];
    let entries: unknown;
    try {
      entries = (JSON.parse(body) as { parts?: unknown }).parts;
    } catch {
      return [];
    }
    if (!Array.isArray(entries)) return [];
    const parts: StagedPart[] = [];
    for (const entry of entries) {
      const [start, size] = Array.isArray(entry) ? (entry as unknown[]) : [];
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || (start as number) < 0 || (size as number) < 0) return [];
      parts.push({ key: this.partKey(uploadId, start as number), start: start as number, size: size as number });
    }
    return parts;
  }

  private async writeIndex(uploadId: string, parts: StagedPart[]): Promise<void> {
    const body = JSON.stringify({ parts: parts.map((p) => [p.start, p.size]) });
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.indexKey(uploadId), Body: body, ContentType: 'application/json', ...this.encryption() }),
    );
  }

  /** Parts a writer stored past what the index records: a chain from `start`, followed by HEADs until one is missing. */
  private async walkChain(uploadId: string, start: number): Promise<StagedPart[]> {
    const parts: StagedPart[] = [];
    for (let at = start; ; ) {
      const key = this.partKey(uploadId, at);
      const size = await this.headSize(key);
      if (size === null) return parts;
      parts.push({ key, start: at, size });
      if (size === 0) return parts;
      at += size;
    }
  }

  /**
   * The staged parts, enough to cover `size` bytes where storage holds them: the index,
   * extended by a chain walk when it falls short (an upload staged by a version of this
   * driver that kept no index, or an index write lost in a crash after an acknowledged write).
   */
  private async stagedParts(uploadId: string, size: number): Promise<StagedPart[]> {
    const parts = await this.readIndex(uploadId);
    const end = chainEnd(parts);
    if (end < size) parts.push(...(await this.walkChain(uploadId, end)).filter((p) => p.start < size));
    return parts;
  }

  /**
   * The staged parts that make up the upload's first `size` bytes, in order: a chain from
   * offset 0, each part starting where the previous ended.
   */
  private segments(uploadId: string, parts: StagedPart[], size: number): Segment[] {
    const byStart = new Map(parts.map((p) => [p.start, p]));
    const segments: Segment[] = [];
    let at = 0;
    while (at < size) {
      const part = byStart.get(at);
      if (!part || part.size === 0) throw new Error(`upload ${uploadId} holds ${at} bytes in storage, the database says ${size}`);
      const length = Math.min(part.size, size - at);
      segments.push({ part, length });
      at += length;
    }
    return segments;
  }

  /**
   * Makes the staged parts end exactly at `offset`, and returns them: parts starting at or
   * past it come from writes that were never acknowledged and go; a part that straddles it
   * is cut back.
   */
  private async truncateStaging(uploadId: string, offset: number): Promise<StagedPart[]> {
    const indexed = await this.readIndex(uploadId);
    const parts = chainEnd(indexed) < offset ? [...indexed, ...(await this.walkChain(uploadId, chainEnd(indexed)))] : indexed;
    const segments = this.segments(uploadId, parts, offset);
    const last = segments[segments.length - 1];
    if (last && last.length < last.part.size) {
      // Not produced by the registry's own write sequence, but cheap to repair: at most one part.
      const bytes = await this.readRange(last.part.key, 0, last.length);
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: last.part.key, Body: bytes, ContentLength: bytes.length, ContentType: 'application/octet-stream', ...this.encryption() }),
      );
    }
    const stale = new Set(parts.filter((p) => p.start >= offset).map((p) => p.key));
    // A writer that died mid-write left its parts from `offset` on without indexing them.
    for (const part of await this.walkChain(uploadId, offset)) stale.add(part.key);
    await this.deleteKeys([...stale]);
    return segments.map(({ part, length }) => ({ ...part, size: length }));
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

  /** Deletes every staged object of an upload, ending any multipart upload a commit left. */
  private async removeStaging(uploadId: string): Promise<void> {
    const parts = await this.readIndex(uploadId);
    parts.push(...(await this.walkChain(uploadId, chainEnd(parts))));
    await this.endRecordedMultipart(uploadId);
    await this.deleteKeys([...parts.map((p) => p.key), this.indexKey(uploadId)]);
  }

  /** Aborts the multipart upload a commit recorded, if any, and removes the record. */
  private async endRecordedMultipart(uploadId: string): Promise<void> {
    const manifest = await this.readManifest(this.multipartKey(uploadId));
    if (!manifest) return;
    await this.abortMultipart(manifest);
    await this.deleteKeys([this.multipartKey(uploadId)]);
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
    const manifestKey = this.multipartKey(uploadId);
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
    const body = await this.readSmallObject(key);
    if (body === null) return null;
    try {
      const parsed = JSON.parse(body) as Partial<CommitManifest>;
      return typeof parsed.key === 'string' && typeof parsed.uploadId === 'string' ? { key: parsed.key, uploadId: parsed.uploadId } : null;
    } catch (err) {
      if (err instanceof SyntaxError) return null;
      throw err;
    }
  }

  /** The text of a small object, or null when it does not exist. */
  private async readSmallObject(key: string): Promise<string | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await out.Body?.transformToString()) ?? '';
    } catch (err) {
      if (isNotFound(err)) return null;
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

/** Where a chain of parts from offset 0 ends. */
function chainEnd(parts: StagedPart[]): number {
  let end = 0;
  for (const part of parts) if (part.start === end) end += part.size;
  return end;
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

import type { Readable } from 'node:stream';

/** A digest already validated by the domain, `sha256:<hex>` or `sha512:<hex>`. */
export type BlobDigest = string;

/** An inclusive byte range, as HTTP Range expresses it. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where blob bytes live. Content-addressed and write-once: a blob appears at its
 * digest only through commitUpload, after the caller has verified the digest.
 *
 * The contract is shaped for object stores (S3 has no append and no rename, and
 * multipart parts are at least 5 MiB except the last): an upload is a sequence of
 * chunks written at an offset the metadata database vouches for; the driver may
 * buffer or stage chunks however suits it, as long as readUpload returns exactly
 * the bytes written up to the offset last acknowledged.
 */
export interface WriteOptions {
  /**
   * Resolve only once the bytes are on stable storage (default true). A write that is
   * published next needs it; an intermediate chunk may be answered earlier, because
   * commitUpload makes everything durable before publishing.
   */
  durable?: boolean;
}

export interface BlobStore {
  readonly kind: string;

  /** Size of the committed blob, or null when absent. */
  stat(digest: BlobDigest): Promise<{ size: number } | null>;
  /** Stream a committed blob, optionally a byte range of it. */
  read(digest: BlobDigest, range?: ByteRange): Promise<Readable>;
  /** Remove a committed blob; absent is not an error. */
  delete(digest: BlobDigest): Promise<void>;

  /**
   * Append `source` to upload `uploadId` starting at byte `offset` (the size the
   * database last recorded). Bytes past `offset` left by an interrupted write are
   * discarded first. `onData` sees every byte written, in order (for hashing).
   * Resolves to the new size.
   */
  writeUpload(uploadId: string, offset: number, source: Readable, onData?: (chunk: Buffer) => void, options?: WriteOptions): Promise<number>;
  /** Stream the first `size` bytes of an upload (used to re-hash when no hasher state is at hand). */
  readUpload(uploadId: string, size: number): Promise<Readable>;
  /**
   * Make the first `size` bytes of the upload visible at `digest`, atomically, and
   * remove the upload. Committing a digest that already exists is not an error:
   * content addressing makes the bytes identical.
   */
  commitUpload(uploadId: string, size: number, digest: BlobDigest): Promise<void>;
  /** Discard an upload's bytes; absent is not an error. */
  abortUpload(uploadId: string): Promise<void>;

  /** Cheap readiness probe. */
  check(): Promise<void>;

  /**
   * Optional: a URL a client can GET the committed blob from directly for the next
   * `expiresSeconds` (the `redirect` pull mode). Drivers that have no such URL (the
   * filesystem) leave it out, and the caller streams through `read` instead. The URL
   * does not check that the blob exists: the caller has already looked it up.
   */
  presignedReadUrl?(digest: BlobDigest, expiresSeconds: number): Promise<string>;
}

import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ManifestRow, Repository } from '../metadata/schema.js';
import type { MetadataStore, Page, ReferrerRow } from '../metadata/store.js';
import type { BlobStore, ByteRange } from '../storage/blob-store.js';
import { digestAlgorithm, digestOf, finishDigest, newHasher, parseDigest, type Digest, type DigestAlgorithm } from './digest.js';
import { UploadHasher } from './hasher.js';
import { bodyBytesReceived } from './body-memory.js';
import { RegistryError } from './errors.js';
import { MAX_MANIFEST_BYTES, parseManifest } from './manifest.js';
import { validateRepositoryName, validateTag } from './names.js';
import { PullRecorder } from './pull-recorder.js';
import { immutableTagDeleteMessage, immutableTagMessage, isTagImmutable, tagMutabilityOf } from './tag-mutability.js';

export interface RegistryOptions {
  /** Create a repository on its first push (true) or require it to exist (ECR's behaviour). */
  autoCreateRepositories: boolean;
  /** Uploads untouched for this long are abandoned and their space reclaimed. */
  uploadTtlMs: number;
  /** A writer's claim on an upload; renewed while it writes, it outlives a crashed writer by this much. */
  uploadLeaseMs: number;
  /** Send pulls to presigned storage URLs when the blob store offers them. */
  redirectPulls?: boolean;
  /**
   * Garbage collection spares blobs and links touched this recently. A HEAD or GET of a
   * blob touches its link when half of this has passed, so a client that checked a layer
   * before pushing the manifest that names it never loses the race against a collection.
   */
  gcGraceMs?: number;
}

/** How long a publish waits for a collection to finish removing an earlier copy of the same bytes. */
const DELETION_WAIT_MS = 30_000;
/** A removal this old was left by a collector that died; the publish takes over. */
const DELETION_STALE_MS = 5 * 60_000;

/** How long a presigned pull URL stays valid: long enough to start the download, no longer. */
const REDIRECT_EXPIRY_SECONDS = 120;

export interface UploadState {
  id: string;
  /** Bytes received so far. */
  size: number;
}

export interface BlobStat {
  repository: string;
  digest: Digest;
  size: number;
}

export interface ChunkRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export type ManifestReferenceInput = { tag: string } | { digest: Digest };

export interface StoredManifest {
  id: number;
  digest: string;
  mediaType: string;
  size: number;
  subjectDigest: string | null;
  payload?: Buffer;
}

/** Hash state kept between chunks of an upload handled by this process. */
interface HashState {
  hash: UploadHasher;
  algorithm: DigestAlgorithm;
  size: number;
}

const DEFAULT_ALGORITHM: DigestAlgorithm = 'sha256';
const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The domain: what a push, pull or delete means. HTTP handlers (the /v2 surface now,
 * the ECR API later) call these methods and translate RegistryError to their format.
 */
export class Registry {
  private readonly hashes = new Map<string, HashState>();
  readonly pulls: PullRecorder;

  constructor(
    readonly metadata: MetadataStore,
    readonly blobs: BlobStore,
    readonly options: RegistryOptions,
    private readonly log: Logger,
  ) {
    this.pulls = new PullRecorder(metadata, log);
  }

  async close(): Promise<void> {
    await this.pulls.close();
  }

  private now(): string {
    return new Date().toISOString();
  }

  // ---- repositories

  private async repository(name: string, opts: { create: boolean } = { create: false }): Promise<Repository> {
    validateRepositoryName(name);
    const existing = await this.metadata.getRepository(name);
    if (existing) return existing;
    if (!opts.create || !this.options.autoCreateRepositories) {
      throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name });
    }
    return this.metadata.ensureRepository(name, this.now());
  }

  /** Explicit creation, for registries that do not create repositories on push. */
  async createRepository(name: string): Promise<Repository> {
    validateRepositoryName(name);
    return this.metadata.ensureRepository(name, this.now());
  }

  async listRepositories(page: Page): Promise<string[]> {
    return this.metadata.listRepositoryNames(page);
  }

  // ---- blobs

  /** The blob as linked to this repository: its digest and size (one query on the hot path). */
  async statBlob(name: string, digestText: string): Promise<BlobStat> {
    const digest = parseDigest(digestText);
    validateRepositoryName(name);
    const blob = await this.metadata.findBlobInRepository(name, digest);
    if (!blob) {
      await this.repository(name); // NAME_UNKNOWN when the repository itself is missing
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    }
    this.touchLinkIfOld(blob.repository_id, digest, blob.touched_at);
    return { repository: name, digest, size: blob.size };
  }

  /** At most one write per link per half grace period, off the request's path. */
  private touchLinkIfOld(repositoryId: number, digest: Digest, touchedAt: string | null): void {
    const grace = this.options.gcGraceMs;
    if (grace === undefined || (touchedAt !== null && Date.parse(touchedAt) > Date.now() - grace / 2)) return;
    this.metadata.touchLink(repositoryId, digest, this.now()).catch((err: unknown) => {
      this.log.warn({ err, digest }, 'could not refresh a blob link for garbage collection');
    });
  }

  /** Streams a blob that statBlob found, without looking it up again. */
  async openBlob(stat: BlobStat, range?: ByteRange): Promise<Readable> {
    try {
      return await this.blobs.read(stat.digest, range);
    } catch (err) {
      this.log.error({ err, digest: stat.digest, repository: stat.repository }, 'blob recorded in metadata but unreadable in storage');
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest: stat.digest });
    }
  }

  /**
   * Where a client may fetch a blob straight from storage, when redirecting pulls is on and
   * the store can presign (S3); null otherwise. The caller has already checked the link.
   */
  async blobRedirectUrl(digest: Digest): Promise<string | null> {
    if (!this.options.redirectPulls || !this.blobs.presignedReadUrl) return null;
    return this.blobs.presignedReadUrl(digest, REDIRECT_EXPIRY_SECONDS);
  }

  /** Unlinks the blob from this repository; the bytes go when garbage collection finds them unused. */
  async deleteBlob(name: string, digestText: string): Promise<void> {
    const digest = parseDigest(digestText);
    const repo = await this.repository(name);
    if (!(await this.metadata.unlinkBlob(repo.id, digest))) {
      throw new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    }
  }

  /**
   * Cross-repository mount: link a blob this registry already holds. With `from`, the
   * blob must be in that repository; without, anywhere. Returns false when it cannot
   * be mounted, and the caller falls back to a normal upload.
   */
  async mountBlob(name: string, digestText: string, from: string | undefined, canRead?: (repository: string) => Promise<boolean>): Promise<boolean> {
    const digest = parseDigest(digestText);
    const repo = await this.repository(name, { create: true });
    let blob: { size: number } | undefined;
    if (from !== undefined) {
      try {
        validateRepositoryName(from);
      } catch {
        return false;
      }
      if (canRead && !(await canRead(from))) return false;
      blob = await this.metadata.findBlobInRepository(from, digest);
    } else if (canRead) {
      // Without `from`, the blob may come only from a repository the caller could read.
      for (const source of await this.metadata.repositoriesLinkingBlob(digest, 20)) {
        if (await canRead(source)) {
          blob = await this.metadata.findBlobInRepository(source, digest);
          break;
        }
      }
    } else {
      blob = await this.metadata.getBlob(digest);
    }
    if (!blob || !(await this.blobs.stat(digest))) return false;
    // False when a garbage collection removed the blob meanwhile: the client uploads it instead.
    return this.metadata.linkExistingBlob(repo.id, digest, this.now());
  }

  // ---- uploads

  async startUpload(name: string): Promise<UploadState> {
    const { id } = await this.beginUpload(name);
    return { id, size: 0 };
  }

  private async beginUpload(name: string): Promise<{ id: string; repositoryId: number }> {
    validateRepositoryName(name);
    const id = randomUUID();
    const now = this.now();
    // One statement when the repository exists (every push but a repository's first).
    const repositoryId = await this.metadata.createUploadIn(name, id, now);
    if (repositoryId !== undefined) return { id, repositoryId };
    const repo = await this.repository(name, { create: true });
    await this.metadata.createUpload(id, repo.id, now);
    return { id, repositoryId: repo.id };
  }

  async uploadStatus(name: string, id: string): Promise<UploadState> {
    const upload = await this.findUpload(name, id);
    return { id, size: upload.size };
  }

  private async findUpload(name: string, id: string) {
    validateRepositoryName(name);
    const unknown = new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: id.slice(0, 64) });
    if (!UPLOAD_ID.test(id)) throw unknown;
    const [upload, repo] = await Promise.all([this.metadata.getUpload(id), this.metadata.getRepository(name)]);
    if (!upload || !repo || upload.repository_id !== repo.id) throw unknown;
    return upload;
  }

  /**
   * Appends a chunk. `range` is the client's Content-Range; its start must equal the
   * bytes received so far (out-of-order chunks are RANGE_INVALID, answered 416).
   */
  async appendUpload(name: string, id: string, body: Readable, range?: ChunkRange, contentLength?: number): Promise<UploadState> {
    return this.withUploadLease(name, id, async (offset) => ({
      id,
      size: await this.receiveChunk(id, offset, body, { range, contentLength, acknowledge: true }),
    }));
  }

  /**
   * Runs `fn` holding the upload's writer lease in the database (renewed while it runs),
   * so two processes or nodes never write or finish one upload at once. `fn` gets the
   * size acknowledged at the moment the lease was taken. Taking the lease also checks that
   * the upload belongs to the repository (one statement on the common path).
   */
  private async withUploadLease<T>(name: string, id: string, fn: (offset: number, repositoryId: number, recordedDigest: Digest | null) => Promise<T>): Promise<T> {
    validateRepositoryName(name);
    if (!UPLOAD_ID.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid: id.slice(0, 64) });
    const leased = await this.metadata.leaseUploadIn(name, id, this.now(), this.leaseUntil());
    if (!leased) {
      // Unknown here (404), or busy (416 with where it stands).
      const current = await this.findUpload(name, id);
      throw new RegistryError('UPLOAD_BUSY', 'another request is writing to this upload', { size: current.size });
    }
    const renew = setInterval(() => {
      this.metadata.renewUploadLease(id, this.leaseUntil()).catch((err: unknown) => this.log.warn({ err, upload: id }, 'could not renew upload lease'));
    }, this.options.uploadLeaseMs / 3);
    try {
      // Success releases the lease with the size it acknowledges (advanceUpload) or the row itself goes (publish).
      return await fn(leased.size, leased.repository_id, leased.digest as Digest | null);
    } catch (err) {
      await this.metadata.releaseUpload(id).catch((e: unknown) => this.log.warn({ err: e, upload: id }, 'could not release upload lease'));
      throw err;
    } finally {
      clearInterval(renew);
    }
  }

  /**
   * Writes a chunk at `offset` (checked against the client's Content-Range) and, with
   * `acknowledge`, records the new size. A final chunk that is published at once needs no
   * acknowledgement: the upload row goes with the publish, and a failure leaves the old size.
   */
  private async receiveChunk(
    id: string,
    offset: number,
    body: Readable,
    opts: { range?: ChunkRange | undefined; contentLength?: number | undefined; acknowledge: boolean },
  ): Promise<number> {
    const { range, contentLength } = opts;
    if (range) {
      if (range.start !== offset || range.end < range.start) {
        throw new RegistryError('RANGE_INVALID', `chunk must start at byte ${offset}`, { size: offset });
      }
      if (contentLength !== undefined && contentLength !== range.end - range.start + 1) {
        throw new RegistryError('RANGE_INVALID', 'Content-Range does not match Content-Length', { size: offset });
      }
    }
    return this.writeChunk(id, offset, body, { expected: range ? range.end - range.start + 1 : undefined, acknowledge: opts.acknowledge });
  }

  /** Writes at `offset`, hashing as it goes, and (with `acknowledge`) records the new size in the database. */
  private async writeChunk(id: string, offset: number, body: Readable, opts: { expected?: number | undefined; acknowledge: boolean }): Promise<number> {
    let state = this.hashes.get(id);
    if (state && state.size !== offset) {
      this.dropHash(id);
      state = undefined;
    }
    if (!state && offset === 0) {
      state = { hash: new UploadHasher(DEFAULT_ALGORITHM), algorithm: DEFAULT_ALGORITHM, size: 0 };
      this.hashes.set(id, state);
    }
    const hashing = state;
    let size: number;
    try {
      const onData = (chunk: Buffer) => {
        hashing?.hash.update(chunk);
        bodyBytesReceived(chunk.length);
      };
      // An acknowledged chunk need not be on disk yet: publishing syncs first.
      size = await this.blobs.writeUpload(id, offset, body, onData, { durable: !opts.acknowledge });
    } catch (err) {
      this.dropHash(id);
      throw err;
    }
    if (opts.expected !== undefined && size - offset !== opts.expected) {
      // Never acknowledged: the next write at the old offset overwrites these bytes.
      this.dropHash(id);
      throw new RegistryError('RANGE_INVALID', 'chunk length does not match Content-Range', { size: offset });
    }
    if (opts.acknowledge) {
      // Recorded with the size: whichever process finishes the upload can skip re-reading it.
      const sofar = hashing ? await this.peekDigest(id, hashing) : null;
      if (!(await this.metadata.advanceUpload(id, offset, size, this.now(), sofar))) {
        this.dropHash(id);
        throw new RegistryError('UPLOAD_BUSY', 'upload was modified concurrently', { size: offset });
      }
    }
    if (hashing) hashing.size = size;
    return size;
  }

  /** The digest of the bytes hashed so far, or null if the hashing thread failed (nothing is recorded then). */
  private async peekDigest(id: string, state: HashState): Promise<Digest | null> {
    try {
      return `${state.algorithm}:${await state.hash.peek()}` as Digest;
    } catch (err) {
      this.log.warn({ err, upload: id }, 'could not read an upload digest from the hashing thread');
      this.dropHash(id);
      return null;
    }
  }

  /** Forgets an upload's running digest (and its state in the hashing thread). */
  private dropHash(id: string): void {
    this.hashes.get(id)?.hash.dispose();
    this.hashes.delete(id);
  }

  private leaseUntil(): string {
    return new Date(Date.now() + this.options.uploadLeaseMs).toISOString();
  }

  /** Finishes an upload: optional last chunk, digest verification, atomic publish, link. */
  async completeUpload(
    name: string,
    id: string,
    digestText: string,
    finalChunk?: Readable,
    range?: ChunkRange,
    contentLength?: number,
  ): Promise<Digest> {
    const digest = parseDigest(digestText);
    return this.withUploadLease(name, id, async (offset, repositoryId, recordedDigest) => {
      if (finalChunk) {
        const size = await this.receiveChunk(id, offset, finalChunk, { range, contentLength, acknowledge: false });
        return this.publish(repositoryId, id, size, digest);
      }
      return this.publish(repositoryId, id, offset, digest, recordedDigest);
    });
  }

  /** POST ?digest= with the whole blob as body. */
  async monolithicUpload(name: string, digestText: string, body: Readable): Promise<Digest> {
    const digest = parseDigest(digestText);
    const { id, repositoryId } = await this.beginUpload(name);
    try {
      // No lease: nobody else knows this upload's id. No acknowledged size either: it is published at once.
      const size = await this.writeChunk(id, 0, body, { acknowledge: false });
      return await this.publish(repositoryId, id, size, digest);
    } catch (err) {
      await this.discardUpload(id);
      throw err;
    }
  }

  /** `recorded`: the digest of exactly `size` bytes the database holds for this upload, if any. */
  private async publish(repositoryId: number, id: string, size: number, expected: Digest, recorded?: Digest | null): Promise<Digest> {
    const actual = await this.computeDigest(id, size, digestAlgorithm(expected), recorded ?? null);
    if (actual !== expected) {
      await this.discardUpload(id);
      throw new RegistryError('DIGEST_INVALID', 'provided digest did not match uploaded content', { expected, actual });
    }
    // Reserve the row, bytes next, then the link: a crash in between leaves an unreferenced
    // blob for GC, never a link to missing bytes.
    await this.reserveBlob(expected, size);
    await this.blobs.commitUpload(id, size, expected);
    // The upload's row goes in the link's transaction.
    await this.metadata.linkBlob(repositoryId, expected, size, this.now(), { finishedUpload: id });
    this.dropHash(id);
    return expected;
  }

  /**
   * Touches the blob's row so no garbage collection starts removing it, and waits while one
   * that started earlier is still removing the same bytes from storage: writing them now
   * could lose the race against its delete.
   */
  private async reserveBlob(digest: Digest, size: number): Promise<void> {
    const deadline = Date.now() + DELETION_WAIT_MS;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      const removing = await this.metadata.reserveBlob(digest, size, this.now());
      if (removing === null) return;
      if (Date.parse(removing) < Date.now() - DELETION_STALE_MS) {
        await this.metadata.forgetBlobDeletion(digest, removing);
        continue;
      }
      if (Date.now() > deadline) throw new Error(`blob ${digest} is still being removed by garbage collection`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async computeDigest(id: string, size: number, algorithm: DigestAlgorithm, recorded: Digest | null): Promise<Digest> {
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    if (state && state.size === size && state.algorithm === algorithm) {
      try {
        return `${algorithm}:${await state.hash.digest()}` as Digest;
      } catch (err) {
        // The hashing thread failed: fall back to reading the bytes again.
        this.log.warn({ err, upload: id }, 'could not finish an upload digest in the hashing thread');
      }
    } else {
      state?.hash.dispose();
    }
    // Recorded by the process that acknowledged these bytes (this upload's PATCHes went elsewhere).
    if (recorded && digestAlgorithm(recorded) === algorithm) return recorded;
    // No usable hash state (another process took earlier chunks, a restart, or another algorithm): re-read.
    const hash = newHasher(algorithm);
    const stream = await this.blobs.readUpload(id, size);
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      // As short-lived as body chunks, and as many: same treatment.
      bodyBytesReceived((chunk as Buffer).length);
    }
    return finishDigest(hash, algorithm);
  }

  async cancelUpload(name: string, id: string): Promise<void> {
    await this.findUpload(name, id);
    await this.discardUpload(id);
  }

  /** Storage first, then the row: a crash in between leaves a row the expiry sweep retries. */
  private async discardUpload(id: string): Promise<void> {
    this.dropHash(id);
    await this.blobs.abortUpload(id);
    await this.metadata.deleteUpload(id);
  }

  /** Removes uploads idle for longer than the TTL; returns how many. */
  async expireUploads(now = Date.now()): Promise<number> {
    const before = new Date(now - this.options.uploadTtlMs).toISOString();
    let removed = 0;
    for (;;) {
      const stale = await this.metadata.listStaleUploads(before, new Date(now).toISOString(), 100);
      for (const upload of stale) {
        await this.discardUpload(upload.id);
        removed++;
      }
      if (stale.length < 100) return removed;
    }
  }

  // ---- manifests

  private parseReference(reference: string): ManifestReferenceInput {
    if (reference.includes(':')) return { digest: parseDigest(reference) };
    return { tag: validateTag(reference) };
  }

  async putManifest(
    name: string,
    reference: string,
    payload: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: Digest; subject: string | null }> {
    validateRepositoryName(name);
    const ref = this.parseReference(reference);
    if (payload.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds ${MAX_MANIFEST_BYTES} bytes`, { limit: MAX_MANIFEST_BYTES });
    }
    const algorithm = 'digest' in ref ? digestAlgorithm(ref.digest) : DEFAULT_ALGORITHM;
    const digest = digestOf(payload, algorithm);
    if ('digest' in ref && ref.digest !== digest) {
      throw new RegistryError('DIGEST_INVALID', 'manifest digest does not match the reference', { expected: ref.digest, actual: digest });
    }
    const parsed = parseManifest(payload, contentType);
    const repo = await this.repository(name, { create: true });
    const result = await this.metadata.putManifest(
      repo.id,
      {
        digest,
        media_type: parsed.mediaType,
        artifact_type: parsed.artifactType,
        config_media_type: parsed.configMediaType,
        subject_digest: parsed.subject?.digest ?? null,
        annotations: parsed.annotations ? JSON.stringify(parsed.annotations) : null,
        payload,
        size: payload.length,
        total_size: payload.length + parsed.referencedSize,
        pushed_at: this.now(),
        last_pulled_at: null,
      },
      parsed.references,
      'tag' in ref ? ref.tag : undefined,
      { tagImmutable: 'tag' in ref && isTagImmutable(tagMutabilityOf(repo), ref.tag) },
    );
    if (result.tagImmutable && 'tag' in ref) throw new RegistryError('TAG_IMMUTABLE', immutableTagMessage(name, ref.tag), { tag: ref.tag });
    if (result.missing) {
      const blob = result.missing.find((m) => m.kind === 'blob');
      if (blob) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest references a blob unknown to this repository', { digest: blob.digest });
      const child = result.missing[0];
      throw new RegistryError('MANIFEST_REFERENCE_UNKNOWN', 'manifest references a manifest unknown to this repository', { digest: child?.digest });
    }
    return { digest, subject: parsed.subject?.digest ?? null };
  }

  async getManifest(name: string, reference: string, opts: { withPayload: boolean }): Promise<StoredManifest> {
    const ref = this.parseReference(reference);
    validateRepositoryName(name);
    // One query on the hot path; the repository is looked up only to tell which error applies.
    const row = await this.metadata.findManifest(name, ref, opts);
    if (!row) {
      await this.repository(name);
      throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', 'tag' in ref ? { tag: ref.tag } : { digest: ref.digest });
    }
    if (opts.withPayload) this.pulls.record(row.id);
    return {
      id: row.id,
      digest: row.digest,
      mediaType: row.media_type,
      size: row.size,
      subjectDigest: row.subject_digest,
      ...(row.payload ? { payload: Buffer.from(row.payload) } : {}),
    };
  }

  /**
   * By tag: removes only the tag, unless the repository makes it immutable. By digest: removes
   * the manifest and every tag on it (immutable ones too: that deletes the image, as ECR allows).
   */
  async deleteManifest(name: string, reference: string): Promise<void> {
    const ref = this.parseReference(reference);
    const repo = await this.repository(name);
    if ('tag' in ref && isTagImmutable(tagMutabilityOf(repo), ref.tag)) {
      // An unknown tag is still MANIFEST_UNKNOWN; a known immutable one stays where it is.
      if (!(await this.metadata.findManifest(name, ref, { withPayload: false }))) throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', ref);
      throw new RegistryError('TAG_IMMUTABLE', immutableTagDeleteMessage(name, ref.tag), { tag: ref.tag });
    }
    const deleted = 'tag' in ref ? await this.metadata.deleteTag(repo.id, ref.tag) : await this.metadata.deleteManifest(repo.id, ref.digest);
    if (!deleted) throw new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', ref);
  }

  async listTags(name: string, page: Page): Promise<string[]> {
    const repo = await this.repository(name);
    return this.metadata.listTags(repo.id, page);
  }

  /** Manifests whose subject is `digest`; an unknown subject or repository has none. */
  async listReferrers(name: string, digestText: string): Promise<ReferrerRow[]> {
    const digest = parseDigest(digestText);
    validateRepositoryName(name);
    const repo = await this.metadata.getRepository(name);
    if (!repo) return [];
    return this.metadata.listReferrers(repo.id, digest);
  }
}

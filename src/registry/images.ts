import { PassThrough } from 'node:stream';
import type { ImageIdRow, ImageRow, ImageStore, TagStatus } from '../metadata/image-store.js';
import { digestAlgorithm, digestOf, parseDigest, type Digest } from './digest.js';
import { RegistryError } from './errors.js';
import { MediaTypes } from './manifest.js';
import { validateTag } from './names.js';
import type { Registry } from './registry.js';
import { repositoryNotFound, type Repositories } from './repositories.js';
import { immutableTagDeleteMessage, isTagImmutable } from './tag-mutability.js';

/** An ECR image identifier: a digest, a tag, or both. */
export interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

export type ImageFailureCode = 'InvalidImageDigest' | 'InvalidImageTag' | 'ImageTagDoesNotMatchDigest' | 'ImageNotFound' | 'MissingDigestAndTag' | 'ImageReferencedByManifestList';

export interface ImageFailure {
  imageId: ImageId;
  failureCode: ImageFailureCode;
  failureReason: string;
}

export interface ImageDetail extends ImageRow {
  tags: string[];
  /** ECR's imageSizeInBytes: the blobs an image references; for an index, its largest child image. */
  imageSize: number;
}

export interface FetchedImage {
  imageId: ImageId;
  manifest: Buffer;
  mediaType: string;
}

export interface LayerCheck {
  layers: { digest: string; size: number }[];
  failures: { digest: string; failureCode: 'InvalidLayerDigest' | 'MissingLayerDigest'; failureReason: string }[];
}

export interface Referrer {
  digest: string;
  mediaType: string;
  artifactType?: string;
  size: number;
  annotations?: Record<string, string>;
}

/** What InitiateLayerUpload suggests as the part size (ECR accepts parts up to 20 MiB). */
export const LAYER_PART_SIZE = 10 * 1024 * 1024;

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerList]);

function idText(id: ImageId): string {
  return `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;
}

type Resolved = { ok: true; image: ImageRow } | { ok: false; failure: ImageFailure };

/**
 * Images as the ECR API sees them, over the same manifests, tags and blobs as /v2: listing,
 * describing, fetching and deleting images, and pushing through PutImage and the layer
 * upload operations (Registry's upload and manifest methods, so the same rules apply).
 */
export class Images {
  constructor(
    private readonly store: ImageStore,
    private readonly registry: Registry,
    private readonly repositories: Repositories,
  ) {}

  private get registryId(): string {
    return this.repositories.registryId;
  }

  // ---- reading

  /** ListImages: a page of (digest, tag) pairs; untagged manifests appear with their digest only. */
  async listImageIds(name: string, status: TagStatus, after: { id: number; tag: string | null } | undefined, limit: number): Promise<{ items: ImageIdRow[]; more: boolean }> {
    const repo = await this.repositories.require(name);
    const rows = await this.store.listImageIds(repo.id, status, after, limit + 1);
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }

  /** DescribeImages over the whole repository: a page of images in push order. */
  async listDetails(name: string, status: TagStatus, afterId: number | undefined, limit: number): Promise<{ items: ImageDetail[]; more: boolean }> {
    const repo = await this.repositories.require(name);
    const rows = await this.store.listImages(repo.id, status, afterId, limit + 1);
    return { items: await this.details(repo.id, rows.slice(0, limit)), more: rows.length > limit };
  }

  /** DescribeImages with imageIds: all of them or ImageNotFoundException (no partial answers). */
  async describe(name: string, ids: ImageId[]): Promise<ImageDetail[]> {
    const repo = await this.repositories.require(name);
    const rows: ImageRow[] = [];
    const seen = new Set<number>();
    for (const id of ids) {
      const found = await this.resolve(repo.id, id);
      if (!found.ok) {
        if (found.failure.failureCode === 'ImageNotFound' || found.failure.failureCode === 'ImageTagDoesNotMatchDigest') {
          throw new RegistryError('MANIFEST_UNKNOWN', `The image with imageId ${idText(id)} does not exist within the repository with name '${name}' in the registry with id '${this.registryId}'`);
        }
        throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'imageIds' failed to satisfy constraint: '${found.failure.failureReason}'`);
      }
      if (seen.has(found.image.id)) continue;
      seen.add(found.image.id);
      rows.push(found.image);
    }
    return this.details(repo.id, rows);
  }

  private async details(repositoryId: number, rows: ImageRow[]): Promise<ImageDetail[]> {
    const tags = await this.store.tagsOf(rows.map((r) => r.id));
    const indexes = rows.filter((r) => INDEX_TYPES.has(r.media_type));
    const childSizes = indexes.length > 0 ? await this.store.largestChildImages(repositoryId, indexes.map((r) => r.id)) : new Map<number, number>();
    return rows.map((r) => ({
      ...r,
      tags: tags.get(r.id) ?? [],
      imageSize: INDEX_TYPES.has(r.media_type) ? (childSizes.get(r.id) ?? 0) : r.total_size - r.size,
    }));
  }

  /** BatchGetImage: the manifests found, and a failure for each id that is not. Counts as a pull. */
  async batchGet(name: string, ids: ImageId[], acceptedMediaTypes: string[] | undefined): Promise<{ images: FetchedImage[]; failures: ImageFailure[] }> {
    const repo = await this.repositories.require(name);
    const images: FetchedImage[] = [];
    const failures: ImageFailure[] = [];
    for (const id of ids) {
      const found = await this.resolve(repo.id, id);
      if (!found.ok) {
        failures.push(found.failure);
        continue;
      }
      if (acceptedMediaTypes && !acceptedMediaTypes.includes(found.image.media_type) && !acceptedMediaTypes.includes('*/*')) {
        failures.push({
          imageId: id,
          failureCode: 'ImageNotFound',
          failureReason: `The image's manifest is ${found.image.media_type}, which is not among the accepted media types`,
        });
        continue;
      }
      let manifest;
      try {
        manifest = await this.registry.getManifest(name, found.image.digest, { withPayload: true });
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'MANIFEST_UNKNOWN') {
          failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
          continue;
        }
        throw err;
      }
      images.push({
        imageId: { imageDigest: manifest.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
        manifest: manifest.payload ?? Buffer.alloc(0),
        mediaType: manifest.mediaType,
      });
    }
    return { images, failures };
  }

  /** Finds the image an id names, or says why not, in BatchGetImage's failure vocabulary. */
  private async resolve(repositoryId: number, id: ImageId): Promise<Resolved> {
    const fail = (failureCode: ImageFailureCode, failureReason: string): Resolved => ({ ok: false, failure: { imageId: id, failureCode, failureReason } });
    if (id.imageDigest === undefined && id.imageTag === undefined) return fail('MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null');
    let digest: Digest | undefined;
    if (id.imageDigest !== undefined) {
      try {
        digest = parseDigest(id.imageDigest);
      } catch {
        return fail('InvalidImageDigest', 'Invalid image digest');
      }
    }
    if (id.imageTag !== undefined) {
      try {
        validateTag(id.imageTag);
      } catch {
        return fail('InvalidImageTag', 'Invalid image tag');
      }
      const image = await this.store.findImageByTag(repositoryId, id.imageTag);
      if (!image) return fail('ImageNotFound', 'Requested image not found');
      if (digest !== undefined && image.digest !== digest) return fail('ImageTagDoesNotMatchDigest', 'Invalid tag and digest combination');
      return { ok: true, image };
    }
    const image = await this.store.findImageByDigest(repositoryId, digest!);
    return image ? { ok: true, image } : fail('ImageNotFound', 'Requested image not found');
  }

  // ---- deleting

  /**
   * BatchDeleteImage: by digest, the image and every tag on it; by tag, the tag, and the image
   * with it when that was its last tag (an immutable tag only that way). A manifest an index
   * lists cannot be deleted by digest.
   */
  async batchDelete(name: string, ids: ImageId[]): Promise<{ deleted: ImageId[]; failures: ImageFailure[] }> {
    const repo = await this.repositories.require(name);
    const deleted: ImageId[] = [];
    const failures: ImageFailure[] = [];
    for (const id of ids) {
      const found = await this.resolve(repo.id, id);
      if (!found.ok) {
        failures.push(found.failure);
        continue;
      }
      if (id.imageTag !== undefined) {
        // An immutable tag goes only with its image (its last tag, listed by no index), as a
        // delete by digest would; removing it alone would let the next push re-point it.
        const immutable = isTagImmutable({ mutability: repo.tagMutability, exclusions: repo.exclusions }, id.imageTag);
        const result = await this.store.untagImage(repo.id, id.imageTag, id.imageDigest, { onlyWithImage: immutable });
        if (!result) failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
        else if (result.keptImmutable) failures.push({ imageId: id, failureCode: 'InvalidImageTag', failureReason: immutableTagDeleteMessage(name, id.imageTag) });
        else deleted.push({ imageDigest: result.digest, imageTag: id.imageTag });
        continue;
      }
      const parents = await this.store.indexesReferencing(repo.id, found.image.digest);
      if (parents.length > 0) {
        failures.push({ imageId: id, failureCode: 'ImageReferencedByManifestList', failureReason: `Requested image referenced by manifest list: [${parents.join(', ')}]` });
        continue;
      }
      const tags = await this.store.deleteImage(repo.id, found.image.digest);
      if (tags === undefined) failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
      else if (tags.length === 0) deleted.push({ imageDigest: found.image.digest });
      else for (const tag of tags) deleted.push({ imageDigest: found.image.digest, imageTag: tag });
    }
    return { deleted, failures };
  }

  // ---- pushing

  /**
   * PutImage: stores a manifest (and tag) through Registry.putManifest, so validation,
   * reference checks and tag immutability are the ones /v2 applies. Unlike /v2, putting what
   * is already there is an error (ImageAlreadyExistsException).
   */
  async put(name: string, input: { manifest: string; mediaType?: string; tag?: string; digest?: string }): Promise<{ digest: string; mediaType: string; manifest: Buffer }> {
    const repo = await this.repositories.require(name);
    const payload = Buffer.from(input.manifest, 'utf8');
    let digest = digestOf(payload);
    if (input.digest !== undefined) {
      let given: Digest;
      try {
        given = parseDigest(input.digest);
      } catch {
        throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'imageDigest' failed to satisfy constraint: 'Invalid image digest: ${input.digest.slice(0, 200)}'`);
      }
      digest = digestOf(payload, digestAlgorithm(given));
      if (given !== digest) {
        throw new RegistryError('IMAGE_DIGEST_MISMATCH', `The provided digest '${given}' does not match the digest '${digest}' of the image manifest`);
      }
    }
    if (input.tag !== undefined) validateTag(input.tag);
    const existing = input.tag !== undefined ? await this.store.findImageByTag(repo.id, input.tag) : await this.store.findImageByDigest(repo.id, digest);
    if (existing && existing.digest === digest) {
      throw new RegistryError(
        'IMAGE_ALREADY_EXISTS',
        input.tag !== undefined
          ? `Image with digest '${digest}' and tag '${input.tag}' already exists in the repository with name '${name}' in registry with id '${this.registryId}'`
          : `Image with digest '${digest}' already exists in the repository with name '${name}' in registry with id '${this.registryId}'`,
      );
    }
    try {
      await this.registry.putManifest(name, input.tag ?? digest, payload, input.mediaType);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'NAME_UNKNOWN') throw repositoryNotFound(name, this.registryId);
      if (err instanceof RegistryError && err.code === 'MANIFEST_BLOB_UNKNOWN') {
        const missing = (err.detail as { digest?: string } | undefined)?.digest;
        throw new RegistryError(
          'MANIFEST_BLOB_UNKNOWN',
          `The following layers were not found in the repository with name '${name}' in registry with id '${this.registryId}': ${missing ?? 'unknown'}`,
          err.detail,
        );
      }
      if (err instanceof RegistryError && err.code === 'MANIFEST_REFERENCE_UNKNOWN') {
        const missing = (err.detail as { digest?: string } | undefined)?.digest;
        throw new RegistryError('MANIFEST_REFERENCE_UNKNOWN', `The following images referenced by the manifest list were not found: ${missing ?? 'unknown'}`, err.detail);
      }
      throw err;
    }
    const stored = await this.store.findImageByDigest(repo.id, digest);
    return { digest, mediaType: stored?.media_type ?? input.mediaType ?? MediaTypes.ociManifest, manifest: payload };
  }

  /** BatchCheckLayerAvailability. */
  async checkLayers(name: string, digests: string[]): Promise<LayerCheck> {
    const repo = await this.repositories.require(name);
    const valid: string[] = [];
    const out: LayerCheck = { layers: [], failures: [] };
    for (const d of digests) {
      try {
        valid.push(parseDigest(d));
      } catch {
        out.failures.push({ digest: d, failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' });
      }
    }
    const found = await this.store.linkedBlobs(repo.id, valid);
    for (const d of valid) {
      const size = found.get(d);
      if (size === undefined) out.failures.push({ digest: d, failureCode: 'MissingLayerDigest', failureReason: 'Could not find layer' });
      else out.layers.push({ digest: d, size });
    }
    return out;
  }

  async initiateUpload(name: string): Promise<{ uploadId: string; partSize: number }> {
    await this.repositories.require(name);
    const upload = await this.registry.startUpload(name);
    return { uploadId: upload.id, partSize: LAYER_PART_SIZE };
  }

  /** UploadLayerPart: bytes first..last (inclusive), which must continue where the upload stands. Returns the last byte received. */
  async uploadPart(name: string, uploadId: string, first: number, last: number, bytes: Buffer): Promise<number> {
    await this.repositories.require(name);
    const body = new PassThrough();
    body.end(bytes);
    try {
      const state = await this.registry.appendUpload(name, uploadId, body, { start: first, end: last }, bytes.length);
      return state.size - 1;
    } catch (err) {
      throw this.uploadError(name, uploadId, err);
    }
  }

  /** CompleteLayerUpload: verifies the digest and publishes the layer in the repository. */
  async completeUpload(name: string, uploadId: string, digests: string[]): Promise<string> {
    const repo = await this.repositories.require(name);
    const text = digests[0] ?? '';
    let digest: Digest;
    try {
      digest = parseDigest(text);
    } catch {
      throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'layerDigests' failed to satisfy constraint: 'Invalid layer digest: ${text.slice(0, 200)}'`);
    }
    let size: number;
    try {
      size = (await this.registry.uploadStatus(name, uploadId)).size;
    } catch (err) {
      throw this.uploadError(name, uploadId, err);
    }
    if (size === 0) throw new RegistryError('UPLOAD_EMPTY', `The upload with id '${uploadId}' does not contain any layer parts`);
    if ((await this.store.linkedBlobs(repo.id, [digest])).has(digest)) {
      await this.registry.cancelUpload(name, uploadId).catch(() => undefined);
      throw new RegistryError('LAYER_ALREADY_EXISTS', `The layer '${digest}' already exists in the repository with name '${name}' in registry with id '${this.registryId}'`);
    }
    try {
      return await this.registry.completeUpload(name, uploadId, digest);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'DIGEST_INVALID') {
        const actual = (err.detail as { actual?: string } | undefined)?.actual;
        throw new RegistryError('LAYER_INVALID', `The layer digest '${digest}' does not match the uploaded content${actual ? ` (${actual})` : ''}`, err.detail);
      }
      throw this.uploadError(name, uploadId, err);
    }
  }

  private uploadError(name: string, uploadId: string, err: unknown): unknown {
    if (!(err instanceof RegistryError)) return err;
    if (err.code === 'BLOB_UPLOAD_UNKNOWN') {
      return new RegistryError('BLOB_UPLOAD_UNKNOWN', `The upload with id '${uploadId}' does not exist in the repository with name '${name}' in registry with id '${this.registryId}'`);
    }
    if (err.code === 'RANGE_INVALID' || err.code === 'UPLOAD_BUSY') {
      const size = (err.detail as { size?: number } | undefined)?.size ?? 0;
      return new RegistryError(
        err.code,
        err.code === 'UPLOAD_BUSY'
          ? 'Another request is writing to this upload; retry the part'
          : `The layer part is not valid: its first byte must be ${size}, the byte after the last one received, and its length must match partFirstByte..partLastByte`,
        { size, uploadId, repositoryName: name },
      );
    }
    return err;
  }

  /** The layer GetDownloadUrlForLayer points at: linked to the repository, else LayersNotFound. */
  async layer(name: string, digestText: string): Promise<{ digest: string; size: number }> {
    await this.repositories.require(name);
    let digest: Digest;
    try {
      digest = parseDigest(digestText);
    } catch {
      throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'layerDigest' failed to satisfy constraint: 'Invalid layer digest: ${digestText.slice(0, 200)}'`);
    }
    try {
      return await this.registry.statBlob(name, digest);
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'BLOB_UNKNOWN') {
        throw new RegistryError('BLOB_UNKNOWN', `The layer '${digest}' does not exist in the repository with name '${name}' in registry with id '${this.registryId}'`);
      }
      throw err;
    }
  }

  /** ListImageReferrers: manifests whose subject is the digest, by digest, optionally by artifact type. */
  async referrers(name: string, subject: string, artifactTypes: string[] | undefined, after: string | undefined, limit: number): Promise<{ items: Referrer[]; more: boolean }> {
    await this.repositories.require(name);
    let digest: Digest;
    try {
      digest = parseDigest(subject);
    } catch {
      throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'subjectId.imageDigest' failed to satisfy constraint: 'Invalid image digest: ${subject.slice(0, 200)}'`);
    }
    const rows = (await this.registry.listReferrers(name, digest))
      .map((r) => {
        const type = r.artifact_type ?? r.config_media_type;
        return {
          digest: r.digest,
          mediaType: r.media_type,
          size: Number(r.size),
          ...(type ? { artifactType: type } : {}),
          ...(r.annotations ? { annotations: JSON.parse(r.annotations) as Record<string, string> } : {}),
        };
      })
      .filter((r) => !artifactTypes || artifactTypes.length === 0 || (r.artifactType !== undefined && artifactTypes.includes(r.artifactType)))
      .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
      .filter((r) => after === undefined || r.digest > after);
    return { items: rows.slice(0, limit), more: rows.length > limit };
  }
}

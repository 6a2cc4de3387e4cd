import type { ManifestReference } from '../metadata/store.js';
import { parseDigest, type Digest } from './digest.js';
import { RegistryError } from './errors.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerList]);
export const SUPPORTED_MANIFEST_TYPES: readonly string[] = [...IMAGE_TYPES, ...INDEX_TYPES];

/** Manifests above this size are refused (the spec's suggested minimum a registry accepts is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  artifactType: string | null;
  configMediaType: string | null;
  subject: Descriptor | null;
  annotations: Record<string, string> | null;
  /** What must exist in the repository for this manifest to be accepted. */
  references: ManifestReference[];
  /** Sum of the distinct blobs and children this manifest names (for image sizes). */
  referencedSize: number;
}

function invalid(message: string, detail?: unknown): never {
  throw new RegistryError('MANIFEST_INVALID', message, detail);
}

function bareMediaType(contentType: string | undefined): string | undefined {
  const value = contentType?.split(';')[0]?.trim().toLowerCase();
  return value ? value : undefined;
}

/**
 * Validates a manifest payload and extracts what the registry indexes. The media type
 * comes from the payload's `mediaType` when present, else from Content-Type (podman
 * omits the field); when both are present they must agree.
 */
export function parseManifest(payload: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    invalid('manifest is not valid JSON', { reason: (err as Error).message });
  }
  if (!isObject(doc)) invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) invalid('unsupported manifest schemaVersion (only 2 is supported)', { schemaVersion: doc.schemaVersion });

  const header = bareMediaType(contentType);
  const field = doc.mediaType;
  if (field !== undefined && typeof field !== 'string') invalid('mediaType must be a string');
  let mediaType: string | undefined = field;
  if (mediaType === undefined) {
    if (header && SUPPORTED_MANIFEST_TYPES.includes(header)) mediaType = header;
    else if (Array.isArray(doc.manifests)) mediaType = MediaTypes.ociIndex;
    else if (isObject(doc.config)) mediaType = MediaTypes.ociManifest;
  } else if (header && SUPPORTED_MANIFEST_TYPES.includes(header) && header !== mediaType) {
    invalid(`manifest mediaType ${mediaType} does not match Content-Type ${header}`);
  }
  if (mediaType === undefined || !SUPPORTED_MANIFEST_TYPES.includes(mediaType)) {
    invalid(`unsupported manifest media type ${String(mediaType ?? header)}`, { supported: SUPPORTED_MANIFEST_TYPES });
  }

  const subject = doc.subject === undefined ? null : descriptor(doc.subject, 'subject');
  const annotations = stringMap(doc.annotations, 'annotations');
  const artifactType = optionalString(doc.artifactType, 'artifactType');

  if (IMAGE_TYPES.has(mediaType)) {
    if (Array.isArray(doc.manifests)) invalid('an image manifest has no "manifests" field');
    const config = descriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) invalid('layers must be an array');
    const layers = doc.layers.map((l, i) => descriptor(l, `layers[${i}]`));
    const references: ManifestReference[] = [{ kind: 'blob', digest: config.digest }];
    const sizes = new Map<string, number>([[config.digest, config.size]]);
    for (const layer of layers) {
      sizes.set(layer.digest, layer.size);
      // Non-distributable (foreign) layers live elsewhere: only their descriptor is stored.
      if (layer.urls && layer.urls.length > 0) continue;
      references.push({ kind: 'blob', digest: layer.digest });
    }
    return {
      mediaType,
      kind: 'image',
      artifactType,
      configMediaType: config.mediaType,
      subject,
      annotations,
      references,
      referencedSize: sum(sizes.values()),
    };
  }

  if (doc.config !== undefined || doc.layers !== undefined) invalid('an index has no "config" or "layers" fields');
  if (!Array.isArray(doc.manifests)) invalid('manifests must be an array');
  const children = doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`));
  const sizes = new Map<string, number>(children.map((c) => [c.digest, c.size]));
  return {
    mediaType,
    kind: 'index',
    artifactType,
    configMediaType: null,
    subject,
    annotations,
    references: children.map((c) => ({ kind: 'manifest' as const, digest: c.digest })),
    referencedSize: sum(sizes.values()),
  };
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) invalid(`${where} must be a descriptor object`);
  if (typeof value.mediaType !== 'string' || value.mediaType.length === 0) invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof value.digest !== 'string') invalid(`${where}.digest must be a string`);
  let digest: Digest;
  try {
    digest = parseDigest(value.digest);
  } catch {
    invalid(`${where}.digest is not a valid digest`, { digest: value.digest.slice(0, 200) });
  }
  const size = value.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) invalid(`${where}.size must be a non-negative integer`);
  let urls: string[] | undefined;
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === 'string')) invalid(`${where}.urls must be an array of strings`);
    urls = value.urls as string[];
  }
  const result: Descriptor = { mediaType: value.mediaType, digest, size };
  if (urls) result.urls = urls;
  const artifactType = optionalString(value.artifactType, `${where}.artifactType`);
  if (artifactType) result.artifactType = artifactType;
  const annotations = stringMap(value.annotations, `${where}.annotations`);
  if (annotations) result.annotations = annotations;
  return result;
}

function optionalString(value: unknown, where: string): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string') invalid(`${where} must be a string`);
  return value;
}

function stringMap(value: unknown, where: string): Record<string, string> | null {
  if (value === undefined) return null;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === 'string')) invalid(`${where} must map strings to strings`);
  return value as Record<string, string>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

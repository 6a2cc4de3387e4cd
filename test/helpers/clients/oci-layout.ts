// Builds OCI image layouts in pure Node, deterministically (same input -> same digests):
// a minimal ustar writer, gzip layers, image configs, manifests, two-platform indexes,
// and the on-disk layout (oci-layout, index.json, blobs/sha256/*) that skopeo, umoci,
// podman and friends read as `oci:DIR:TAG`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const REF_NAME = 'org.opencontainers.image.ref.name';

export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (sha256 in counter mode): incompressible, reproducible. */
export function pseudoRandom(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off, 0, Math.min(block.length, size - off));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// tar

export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; content: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width includes the trailing NUL
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  const cut = path.lastIndexOf('/', path.length - 2);
  const prefix = path.slice(0, cut);
  const name = path.slice(cut + 1);
  if (cut <= 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) {
    throw new Error(`tar: path too long for ustar: ${path}`);
  }
  return { name, prefix };
}

function header(path: string, typeflag: string, mode: number, size: number, linkname = ''): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const { name, prefix } = splitName(path);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii'); // uid
  h.write(octal(0, 8), 116, 8, 'ascii'); // gid
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(0, 12), 136, 12, 'ascii'); // mtime: the epoch, for reproducibility
  h.write('        ', 148, 8, 'ascii'); // checksum placeholder: spaces
  h.write(typeflag, 156, 1, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(octal(0, 8), 329, 8, 'ascii');
  h.write(octal(0, 8), 337, 8, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii');
  return h;
}

/** A ustar archive (uid/gid 0, mtime 0) of the entries, in the order given. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') {
      parts.push(header(path.endsWith('/') ? path : path + '/', '5', e.mode ?? 0o755, 0));
    } else if (e.type === 'symlink') {
      parts.push(header(path, '2', 0o777, 0, e.target));
    } else {
      const data = typeof e.content === 'string' ? Buffer.from(e.content) : e.content;
      parts.push(header(path, '0', e.mode ?? 0o644, data.length), data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad, 0));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// blobs, layers, images, indexes

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

export interface Layer extends Blob {
  /** sha256 of the uncompressed tar: what the config's rootfs.diff_ids lists */
  diffId: string;
}

export interface Image {
  kind: 'image';
  platform: Platform;
  config: Blob;
  layers: Layer[];
  manifest: Blob;
}

export interface Index {
  kind: 'index';
  images: Image[];
  index: Blob;
}

export function blob(mediaType: string, data: Buffer | string): Blob {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return { mediaType, digest: sha256(buf), size: buf.length, data: buf };
}

export function descriptor(b: Blob, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

/** A gzip-compressed layer of the entries. gzipSync writes mtime 0, so the bytes are stable. */
export function layer(entries: TarEntry[], mediaType: string = MT.ociLayerGzip): Layer {
  const raw = tar(entries);
  return { ...blob(mediaType, gzipSync(raw, { level: 6 })), diffId: sha256(raw) };
}

const BUSYBOX = '/usr/bin/busybox';
let busyboxBytes: Buffer | undefined;

/** The static busybox binary (package busybox-static), read once. */
export function busybox(): Buffer {
  busyboxBytes ??= readFileSync(BUSYBOX);
  return busyboxBytes;
}

/** A layer holding /bin/busybox (from busybox-static) and /bin/sh -> busybox: enough for `run`. */
export function busyboxLayer(mediaType: string = MT.ociLayerGzip): Layer {
  return layer(
    [
      { type: 'dir', path: 'bin' },
      { type: 'file', path: 'bin/busybox', content: busybox(), mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    ],
    mediaType,
  );
}

/** A layer with one file of `size` incompressible bytes under /data, plus a small text file. */
export function dataLayer(seed: string, size: number, mediaType: string = MT.ociLayerGzip): Layer {
  return layer(
    [
      { type: 'dir', path: 'data' },
      { type: 'file', path: `data/${seed}.bin`, content: pseudoRandom(seed, size) },
      { type: 'file', path: `data/${seed}.txt`, content: `layer ${seed}\n` },
    ],
    mediaType,
  );
}

export interface ImageOptions {
  platform?: Platform;
  cmd?: string[];
  env?: string[];
  labels?: Record<string, string>;
  /** docker schema2 media types instead of OCI */
  docker?: boolean;
}

/** Config + manifest for the layers (order = bottom to top). */
export function image(layers: Layer[], opts: ImageOptions = {}): Image {
  const platform = opts.platform ?? { architecture: 'amd64', os: 'linux' };
  const config = blob(
    opts.docker ? MT.dockerConfig : MT.ociConfig,
    JSON.stringify({
      created: '1970-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: {
        Env: opts.env ?? ['PATH=/bin'],
        Cmd: opts.cmd ?? ['/bin/busybox', 'echo', 'hello'],
        ...(opts.labels ? { Labels: opts.labels } : {}),
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '1970-01-01T00:00:00Z', created_by: `wharf test layer ${i}` })),
    }),
  );
  const manifest = blob(
    opts.docker ? MT.dockerManifest : MT.ociManifest,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: opts.docker ? MT.dockerManifest : MT.ociManifest,
      config: descriptor(config),
      layers: layers.map((l) => descriptor(l)),
    }),
  );
  return { kind: 'image', platform, config, layers, manifest };
}

/** An OCI image index over the images (one manifest per platform). */
export function index(images: Image[]): Index {
  const idx = blob(
    MT.ociIndex,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: images.map((img) => descriptor(img.manifest, { platform: img.platform })),
    }),
  );
  return { kind: 'index', images, index: idx };
}

/** The top-level blob of an image or index (what a tag points to). */
export function top(x: Image | Index): Blob {
  return x.kind === 'image' ? x.manifest : x.index;
}

/** Every blob reachable from an image or index, keyed by digest. */
export function allBlobs(x: Image | Index): Map<string, Blob> {
  const out = new Map<string, Blob>();
  const images = x.kind === 'image' ? [x] : x.images;
  if (x.kind === 'index') out.set(x.index.digest, x.index);
  for (const img of images) {
    out.set(img.manifest.digest, img.manifest);
    out.set(img.config.digest, img.config);
    for (const l of img.layers) out.set(l.digest, l);
  }
  return out;
}

/** Writes an OCI image layout with each entry tagged by name (index.json annotations). */
export async function writeLayout(dir: string, tags: Record<string, Image | Index>): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: Descriptor[] = [];
  for (const [name, x] of Object.entries(tags)) {
    for (const b of allBlobs(x).values()) {
      await writeFile(join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.data);
    }
    manifests.push(descriptor(top(x), { annotations: { [REF_NAME]: name } }));
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}

// ---------------------------------------------------------------------------------------------
// reading a layout back (what a client wrote)

export interface LayoutIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export async function readLayoutIndex(dir: string): Promise<LayoutIndex> {
  return JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as LayoutIndex;
}

/** The descriptor index.json holds for a tag (or the only one when no tag is given). */
export async function layoutRef(dir: string, tag?: string): Promise<Descriptor> {
  const idx = await readLayoutIndex(dir);
  const found =
    tag === undefined ? (idx.manifests.length === 1 ? idx.manifests[0] : undefined) : idx.manifests.find((m) => m.annotations?.[REF_NAME] === tag);
  if (!found) throw new Error(`no manifest for ${tag ?? '(single)'} in ${dir}/index.json: ${JSON.stringify(idx)}`);
  return found;
}

export async function readLayoutBlob(dir: string, digest: string): Promise<Buffer> {
  const [alg, hex] = digest.split(':');
  return readFile(join(dir, 'blobs', alg!, hex!));
}

/**
 * Every blob file in the layout, keyed by digest; throws if a file's content does not hash
 * to its name.
 */
export async function readLayoutBlobs(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const base = join(dir, 'blobs', 'sha256');
  for (const name of await readdir(base)) {
    const data = await readFile(join(base, name));
    const digest = sha256(data);
    if (digest !== `sha256:${name}`) throw new Error(`${base}/${name} holds content with digest ${digest}`);
    out.set(digest, data);
  }
  return out;
}

// Deterministic benchmark data. Blobs are an AES-128-CTR keystream (incompressible, as
// container layers are, and generated at GB/s), written once to a cache directory with
// their digest beside them, then streamed from there: no benchmark holds a large blob in memory.
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { MiB } from './util.js';

/** A keystream generator: `next(n)` returns the next n pseudo-random bytes for this seed. */
export function keystream(seed: string): { next(n: number): Buffer } {
  const key = createHash('sha256').update(`wharf-bench:${seed}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return { next: (n) => cipher.update(Buffer.alloc(n)) };
}

export function deterministicBytes(seed: string, size: number): Buffer {
  return keystream(seed).next(size);
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface BlobFile {
  path: string;
  size: number;
  digest: string;
}

/** A cached blob file of `size` bytes for `seed`, generated (and hashed) on first use. */
export async function ensureBlobFile(cacheDir: string, seed: string, size: number, log: (msg: string) => void): Promise<BlobFile> {
  await mkdir(cacheDir, { recursive: true });
  const path = join(cacheDir, `blob-${seed}-${size}.bin`);
  const meta = `${path}.json`;
  if (existsSync(path) && existsSync(meta)) {
    const known = JSON.parse(await readFile(meta, 'utf8')) as BlobFile;
    if (known.size === size) return { path, size, digest: known.digest };
  }
  log(`generating ${(size / MiB).toFixed(0)} MiB blob ${seed} in ${cacheDir}`);
  const stream = keystream(seed);
  const hash = createHash('sha256');
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    for (let written = 0; written < size; ) {
      const chunk = stream.next(Math.min(4 * MiB, size - written));
      hash.update(chunk);
      await handle.write(chunk);
      written += chunk.length;
    }
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  const digest = `sha256:${hash.digest('hex')}`;
  await writeFile(meta, JSON.stringify({ path, size, digest }));
  return { path, size, digest };
}

/** Bytes start..end (inclusive) of a blob file, streamed. */
export function fileRange(path: string, start: number, end: number): Readable {
  return createReadStream(path, { start, end, highWaterMark: MiB });
}

// ---- OCI image layouts for skopeo

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

export interface OciLayout {
  dir: string;
  tag: string;
  /** Bytes of all blobs (layers + config + manifest). */
  bytes: number;
  layers: number;
}

/**
 * An OCI image layout with `layers` layers, each a tar holding one file of `layerBytes`
 * keystream bytes, gzip'ed at level 0 (stored blocks: the data is incompressible anyway, it
 * costs no CPU, and skopeo, which compresses layers it sees uncompressed, leaves it alone).
 */
export async function ensureOciLayout(cacheDir: string, seed: string, layers: number, layerBytes: number, log: (msg: string) => void): Promise<OciLayout> {
  const dir = join(cacheDir, `oci-${seed}-${layers}x${layerBytes}`);
  const tag = 'bench';
  const done = join(dir, 'bench-complete.json');
  if (existsSync(done)) return JSON.parse(await readFile(done, 'utf8')) as OciLayout;
  log(`generating OCI layout ${seed}: ${layers} layers of ${(layerBytes / 1e6).toFixed(0)} MB in ${dir}`);
  await rm(dir, { recursive: true, force: true });
  const blobsDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobsDir, { recursive: true });
  let bytes = 0;
  const layerDescriptors: { mediaType: string; digest: string; size: number }[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < layers; i++) {
    const layer = await writeLayer(blobsDir, `${seed}-layer${i}`, layerBytes);
    layerDescriptors.push({ mediaType: MediaTypes.ociLayerGzip, digest: layer.digest, size: layer.size });
    diffIds.push(layer.diffId);
    bytes += layer.size;
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/data.bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created_by: 'wharf bench' })),
    }),
  );
  const configDigest = await writeBlob(blobsDir, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: config.length },
      layers: layerDescriptors,
    }),
  );
  const manifestDigest = await writeBlob(blobsDir, manifest);
  bytes += config.length + manifest.length;
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: MediaTypes.ociManifest, digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  const layout: OciLayout = { dir, tag, bytes, layers };
  await writeFile(done, JSON.stringify(layout));
  return layout;
}

async function writeBlob(blobsDir: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await writeFile(join(blobsDir, digest.slice('sha256:'.length)), data);
  return digest;
}

/** One layer: tar(data.bin) -> gzip level 0, hashing both the tar (diff id) and the gzip (digest). */
async function writeLayer(blobsDir: string, seed: string, size: number): Promise<{ digest: string; diffId: string; size: number }> {
  const tmp = join(blobsDir, `.tmp-${seed}`);
  const handle = await open(tmp, 'w');
  const diff = createHash('sha256');
  const compressed = createHash('sha256');
  let written = 0;
  const gzip = createGzip({ level: 0, chunkSize: MiB });
  const writing = (async () => {
    for await (const chunk of gzip) {
      const buf = chunk as Buffer;
      compressed.update(buf);
      written += buf.length;
      await handle.write(buf);
    }
  })();
  const feed = async (buf: Buffer) => {
    diff.update(buf);
    if (!gzip.write(buf)) await new Promise((r) => gzip.once('drain', r));
  };
  try {
    await feed(tarHeader('data.bin', size));
    const stream = keystream(seed);
    for (let done = 0; done < size; ) {
      const chunk = stream.next(Math.min(4 * MiB, size - done));
      await feed(chunk);
      done += chunk.length;
    }
    const pad = (512 - (size % 512)) % 512;
    await feed(Buffer.alloc(pad + 1024)); // padding, then the two zero blocks that end a tar
    gzip.end();
    await writing;
  } finally {
    await handle.close();
  }
  const digest = `sha256:${compressed.digest('hex')}`;
  await rename(tmp, join(blobsDir, digest.slice('sha256:'.length)));
  return { digest, diffId: `sha256:${diff.digest('hex')}`, size: written };
}

/** A ustar header for one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) => h.write(text, offset, length, 'ascii');
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0') + '\0';
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(1_700_000_000, 12), 136, 12);
  put('        ', 148, 8); // checksum placeholder: spaces while summing
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

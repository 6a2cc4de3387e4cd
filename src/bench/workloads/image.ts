// A minimal image (config + one layer + OCI manifest) pushed into a repository, shared by
// the manifest and tag workloads.
import { deterministicBytes, MediaTypes, sha256 } from '../data.js';
import type { RegistryClient } from '../http.js';

export interface SmallImage {
  config: { mediaType: string; digest: string; size: number };
  layer: { mediaType: string; digest: string; size: number };
}

const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
const layerBytes = deterministicBytes('image-layer', 4096);

export const smallImage: SmallImage = {
  config: { mediaType: MediaTypes.ociConfig, digest: sha256(configBytes), size: configBytes.length },
  layer: { mediaType: MediaTypes.ociLayer, digest: sha256(layerBytes), size: layerBytes.length },
};

/** Pushes the image's blobs into `repo` (if absent). */
export async function pushImageBlobs(c: RegistryClient, repo: string): Promise<void> {
  for (const [desc, data] of [
    [smallImage.config, configBytes],
    [smallImage.layer, layerBytes],
  ] as const) {
    if (!(await c.blobExists(repo, desc.digest))) await c.pushMonolithic(repo, desc.digest, data.length, data);
  }
}

/** An OCI image manifest for the image; `annotations` make each one distinct. */
export function imageManifest(annotations?: Record<string, string>): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: smallImage.config,
      layers: [smallImage.layer],
      ...(annotations ? { annotations } : {}),
    }),
  );
}

/** What docker and containerd send when they resolve a reference. */
export const MANIFEST_ACCEPT = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

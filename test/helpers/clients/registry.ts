// Plain HTTP look-ups against the registry under test, to check what the clients left there.
import { MT, sha256 } from './oci-layout.js';

export const ALL_MANIFEST_TYPES = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');

export interface FetchedManifest {
  status: number;
  contentType: string;
  /** Docker-Content-Digest header */
  digestHeader: string | null;
  /** sha256 of the body */
  digest: string;
  body: Buffer;
  json: any;
}

export async function getManifest(baseUrl: string, repo: string, ref: string, accept = ALL_MANIFEST_TYPES): Promise<FetchedManifest> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET ${repo}/manifests/${ref}: ${res.status} ${body.toString('utf8')}`);
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    digestHeader: res.headers.get('docker-content-digest'),
    digest: sha256(body),
    body,
    json: JSON.parse(body.toString('utf8')),
  };
}

export async function getBlob(baseUrl: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET ${repo}/blobs/${digest}: ${res.status} ${body.toString('utf8')}`);
  return body;
}

export async function blobExists(baseUrl: string, repo: string, digest: string): Promise<boolean> {
  const res = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  await res.arrayBuffer();
  return res.status === 200;
}

export async function listTags(baseUrl: string, repo: string): Promise<string[]> {
  const res = await fetch(`${baseUrl}/v2/${repo}/tags/list`);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${repo}/tags/list: ${res.status} ${body}`);
  return ((JSON.parse(body) as { tags: string[] | null }).tags ?? []).slice().sort();
}

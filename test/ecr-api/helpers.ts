// Shared set-up for the ECR API tests: a real server with IAM on and known administrator
// credentials, SDK clients for any access key, users with policies, and /v2 pushes.
import { createHash, randomBytes } from 'node:crypto';
import { ECRClient } from '@aws-sdk/client-ecr';
import { awsStyleId, hashPassword, newSecretAccessKey } from '../../src/auth/secrets.js';
import { startWharf, type TestDatabase, type TestWharf } from '../helpers/wharf.js';

export const ADMIN = {
  password: 'admin-password-for-ecr-tests',
  accessKeyId: 'AKIAADMINECRTEST2345',
  secret: 'admin-secret-access-key-for-ecr-tests-0000',
};

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

export async function startEcrWharf(database: TestDatabase, config: Record<string, unknown> = {}): Promise<TestWharf> {
  return startWharf({
    database,
    config: { auth: 'iam', adminPassword: ADMIN.password, adminAccessKeyId: ADMIN.accessKeyId, adminSecretAccessKey: ADMIN.secret, ...config },
  });
}

export function ecrClient(server: { url: string }, key: { accessKeyId: string; secret: string } = ADMIN, region = 'us-east-1'): ECRClient {
  return new ECRClient({
    endpoint: server.url,
    region,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secret },
    maxAttempts: 1,
  });
}

/** A user with an access key and, optionally, an inline policy. */
export async function createUserWithKey(server: TestWharf, name: string, policy?: object): Promise<{ accessKeyId: string; secret: string; userId: string }> {
  const access = server.wharf.access!;
  const user = await access.identity.createUser({ id: awsStyleId('AIDA'), name, passwordHash: await hashPassword(`${name}-password-123`) });
  if (policy) await access.identity.putInlinePolicy('user', user.id, 'test', JSON.stringify(policy));
  const secret = newSecretAccessKey();
  const accessKeyId = awsStyleId('AKIA');
  const master = (access as unknown as { master: { encrypt(s: string): string } }).master;
  await access.identity.createAccessKey(accessKeyId, user.id, master.encrypt(secret));
  access.invalidate();
  return { accessKeyId, secret, userId: user.id };
}

export interface PushedImage {
  manifest: Buffer;
  digest: string;
  config: Buffer;
  layers: Buffer[];
}

/** An OCI image (config + layers + manifest) with random content. */
export function makeImage(layerSizes: number[] = [1000], extra: Record<string, unknown> = {}): PushedImage & { manifestJson: Record<string, unknown> } {
  const layers = layerSizes.map((n) => randomBytes(n));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const manifestJson = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
    ...extra,
  };
  const manifest = Buffer.from(JSON.stringify(manifestJson));
  return { manifest, digest: sha256(manifest), config, layers, manifestJson };
}

/** Pushes blobs and (optionally) the manifest through /v2 with Basic admin credentials. */
export async function pushV2(url: string, repo: string, image: PushedImage, tag?: string, opts: { blobsOnly?: boolean } = {}): Promise<Response | undefined> {
  const auth = basic('admin', ADMIN.password);
  for (const blob of [image.config, ...image.layers]) {
    const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: new Uint8Array(blob), headers: { authorization: auth } });
    if (res.status !== 201) throw new Error(`blob push to ${repo}: ${res.status} ${await res.text()}`);
  }
  if (opts.blobsOnly) return undefined;
  return fetch(`${url}/v2/${repo}/manifests/${tag ?? image.digest}`, {
    method: 'PUT',
    body: new Uint8Array(image.manifest),
    headers: { authorization: auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
}

export { newSecretAccessKey };

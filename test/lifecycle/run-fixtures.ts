// Shared by the lifecycle plumbing tests: policies, a repository of images of known ages pushed
// through /v2 (plain images, an index with its platform manifests, referrers), and reading what
// is left. Ages are set by rewriting manifests.pushed_at, as time passing would.
import { sql } from 'kysely';
import type { TestWharf } from '../helpers/wharf.js';
import { ADMIN, basic, makeImage, pushV2, sha256, type PushedImage } from '../ecr-api/helpers.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DAY = 86_400_000;

/** A policy document as text; pretty-printed so it passes the 100-character minimum and shows that text is kept verbatim. */
export function policyText(rules: object[]): string {
  return JSON.stringify({ rules }, null, 2);
}

/** Keep the newest `keep` images tagged v*, expire untagged images older than `days`. */
export function standardPolicy(keep = 2, days = 7): string {
  return policyText([
    { rulePriority: 1, description: 'keep the newest releases', selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: keep }, action: { type: 'expire' } },
    { rulePriority: 2, description: 'drop old untagged images', selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: days }, action: { type: 'expire' } },
  ]);
}

export async function putManifest(url: string, repo: string, reference: string, body: Buffer, mediaType: string): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    body: new Uint8Array(body),
    headers: { authorization: basic('admin', ADMIN.password), 'content-type': mediaType },
  });
  if (res.status !== 201) throw new Error(`manifest PUT ${repo}:${reference}: ${res.status} ${await res.text()}`);
}

export async function push(url: string, repo: string, tag?: string, extra: Record<string, unknown> = {}): Promise<PushedImage> {
  const image = makeImage([64], extra);
  const res = await pushV2(url, repo, image, tag);
  if (res?.status !== 201) throw new Error(`push ${repo}:${tag ?? image.digest}: ${res?.status} ${await res?.text()}`);
  return image;
}

/** An OCI index over two platform images pushed by digest. */
export async function pushIndex(url: string, repo: string, tag?: string): Promise<{ digest: string; children: string[] }> {
  const children = [await push(url, repo), await push(url, repo)];
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c, i) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.manifest.length, platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' } })),
    }),
  );
  const digest = sha256(body);
  await putManifest(url, repo, tag ?? digest, body, OCI_INDEX);
  return { digest, children: children.map((c) => c.digest) };
}

/** A referrer (a signature-like artifact) whose subject is `subject`. */
export async function pushReferrer(url: string, repo: string, subject: PushedImage | { digest: string; manifest: Buffer }): Promise<PushedImage> {
  return push(url, repo, undefined, {
    artifactType: 'application/vnd.example.signature',
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
  });
}

/** Makes images look `days` old (pushed then). */
export async function age(server: TestWharf, repo: string, digests: string[], days: number): Promise<void> {
  const db = server.wharf.registry.metadata.connection.db;
  const at = new Date(Date.now() - days * DAY).toISOString();
  await db
    .updateTable('manifests')
    .set({ pushed_at: at })
    .where('digest', 'in', digests)
    .where('repository_id', '=', (eb) => eb.selectFrom('repositories').select('id').where('name', '=', repo))
    .execute();
}

/** Digests of the manifests a repository holds, sorted. */
export async function digestsIn(server: TestWharf, repo: string): Promise<string[]> {
  const db = server.wharf.registry.metadata.connection.db;
  const rows = await db
    .selectFrom('manifests as m')
    .innerJoin('repositories as r', 'r.id', 'm.repository_id')
    .select('m.digest')
    .where('r.name', '=', repo)
    .execute();
  return rows.map((r) => r.digest).sort();
}

export async function auditRows(server: TestWharf, repo: string): Promise<{ actor: string | null; action: string; detail: Record<string, unknown> }[]> {
  const db = server.wharf.registry.metadata.connection.db;
  const rows = await db.selectFrom('audit_events').selectAll().where('action', '=', 'LifecycleExpire').where('resource', '=', repo).orderBy('id').execute();
  return rows.map((r) => ({ actor: r.actor, action: r.action, detail: JSON.parse(r.detail ?? '{}') as Record<string, unknown> }));
}

/**
 * A repository that exercises every kind of expiry under standardPolicy(2, 7):
 * - v1..v4 tagged, pushed 40, 30, 20, 10 days ago: v1 and v2 expire (rule 1 keeps two);
 * - an old untagged image with a signature: both go (rule 2, the signature with its subject);
 * - a recent untagged image with a signature: both stay;
 * - an old untagged index with two platform manifests: all three go (the children with it);
 * - a tagged index (`multi`) with two platform manifests, old: stays, children too (rule 1
 *   selects tags starting with v only, and children of a kept index never go).
 */
export async function seedRepository(server: TestWharf, repo: string) {
  const v = [] as PushedImage[];
  for (let i = 1; i <= 4; i++) v.push(await push(server.url, repo, `v${i}`));
  for (const [i, img] of v.entries()) await age(server, repo, [img.digest], 40 - i * 10);
  const oldUntagged = await push(server.url, repo);
  const oldSignature = await pushReferrer(server.url, repo, oldUntagged);
  const newUntagged = await push(server.url, repo);
  const newSignature = await pushReferrer(server.url, repo, newUntagged);
  const oldIndex = await pushIndex(server.url, repo);
  const keptIndex = await pushIndex(server.url, repo, 'multi');
  await age(server, repo, [oldUntagged.digest, oldSignature.digest, ...oldIndex.children, oldIndex.digest, keptIndex.digest, ...keptIndex.children], 30);
  const expected = [v[0]!.digest, v[1]!.digest, oldUntagged.digest, oldSignature.digest, oldIndex.digest, ...oldIndex.children].sort();
  const kept = [v[2]!.digest, v[3]!.digest, newUntagged.digest, newSignature.digest, keptIndex.digest, ...keptIndex.children].sort();
  return { v, oldUntagged, oldSignature, newUntagged, newSignature, oldIndex, keptIndex, expected, kept };
}

/** Sets the preview row's status and timestamps directly: another node in the middle of computing one. */
export async function markPreview(server: TestWharf, repo: string, status: string, updatedAt: string): Promise<void> {
  const db = server.wharf.registry.metadata.connection.db;
  await sql`update lifecycle_previews set status = ${status}, updated_at = ${updatedAt}, results = null
            where repository_id = (select id from repositories where name = ${repo})`.execute(db);
}

// A real run racing real pushes, on every test database: while the runner expires 60 old
// untagged images, a client tags 30 of them through /v2. Whatever the interleaving, a tag whose
// push succeeded still names its image afterwards, and every image the run reports expired and
// nobody tagged is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutLifecyclePolicyCommand } from '@aws-sdk/client-ecr';
import { testDatabases, type TestWharf } from '../helpers/wharf.js';
import { ADMIN, basic, ecrClient, startEcrWharf } from '../ecr-api/helpers.js';
import type { PushedImage } from '../ecr-api/helpers.js';
import { age, digestsIn, OCI_MANIFEST, push, standardPolicy } from './run-fixtures.js';

describe.each(testDatabases())('lifecycle run racing pushes (%s)', (database) => {
  let server: TestWharf;
  beforeAll(async () => {
    server = await startEcrWharf(database, { lifecycleInterval: 'off' });
  });
  afterAll(async () => server?.stop());

  it('never deletes an image out from under a tag push that succeeded', async () => {
    const repo = 'race/many';
    const images: PushedImage[] = [];
    for (let i = 0; i < 60; i++) images.push(await push(server.url, repo));
    await age(server, repo, images.map((i) => i.digest), 30);
    await ecrClient(server).send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: standardPolicy() }));

    // Every other image gets a tag, in an order that interleaves with the run's.
    const targets = images.filter((_, i) => i % 2 === 0).reverse();
    const tagged: { tag: string; digest: string; status: number }[] = [];
    const pusher = (async () => {
      for (const [i, image] of targets.entries()) {
        const tag = `keep-${i}`;
        const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, {
          method: 'PUT',
          body: new Uint8Array(image.manifest),
          headers: { authorization: basic('admin', ADMIN.password), 'content-type': OCI_MANIFEST },
        });
        await res.arrayBuffer();
        tagged.push({ tag, digest: image.digest, status: res.status });
      }
    })();
    const report = await server.wharf.lifecycle.run(repo);
    await pusher;

    const db = server.wharf.registry.metadata.connection.db;
    const tags = new Map(
      (
        await db
          .selectFrom('tags as t')
          .innerJoin('manifests as m', 'm.id', 't.manifest_id')
          .innerJoin('repositories as r', 'r.id', 't.repository_id')
          .select(['t.name', 'm.digest'])
          .where('r.name', '=', repo)
          .execute()
      ).map((r) => [r.name, r.digest]),
    );
    const succeeded = tagged.filter((t) => t.status === 201);
    for (const t of succeeded) expect(tags.get(t.tag), t.tag).toBe(t.digest);
    // A push may lose a race with the deletion of its manifest (and may then be retried); it never silently loses its tag.
    expect(succeeded.length).toBeGreaterThanOrEqual(targets.length - 3);

    const left = new Set(await digestsIn(server, repo));
    const nowTagged = new Set(tags.values());
    for (const e of report.expired) if (!nowTagged.has(e.digest)) expect(left.has(e.digest)).toBe(false);
    for (const s of report.skipped) expect(left.has(s.digest) || !nowTagged.has(s.digest)).toBe(true);
    // Images tagged before the run loaded the repository were never expiry candidates.
    expect(report.expired.length + report.skipped.length).toBeLessThanOrEqual(60);
    // Untagged leftovers go on the next run; tagged images stay.
    const next = await server.wharf.lifecycle.run(repo);
    expect(next.expired.every((e) => !nowTagged.has(e.digest))).toBe(true);
    expect(new Set(await digestsIn(server, repo))).toEqual(nowTagged);
  });
});

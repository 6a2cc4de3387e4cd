// LifecycleRunner against a real server's database, on every test database: a preview, a dry
// run and a real run agree on the same data; the real run removes exactly those images (index
// children with their index, referrers with their subject), audits each, and keeps an image a
// push changed between evaluation and deletion.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeImagesCommand, GetLifecyclePolicyPreviewCommand, PutLifecyclePolicyCommand, StartLifecyclePolicyPreviewCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { testDatabases, type TestWharf } from '../helpers/wharf.js';
import { ecrClient, startEcrWharf } from '../ecr-api/helpers.js';
import { LIFECYCLE_ACTOR } from '../../src/lifecycle/run.js';
import { age, auditRows, digestsIn, OCI_MANIFEST, push, putManifest, seedRepository, standardPolicy } from './run-fixtures.js';

describe.each(testDatabases())('lifecycle runs (%s)', (database) => {
  let server: TestWharf;
  let ecr: ECRClient;

  beforeAll(async () => {
    server = await startEcrWharf(database, { lifecycleInterval: 'off' });
    ecr = ecrClient(server);
  });
  afterAll(async () => server?.stop());

  it('preview = dry run = real run; the real run removes exactly those, units whole, and audits each', async () => {
    const repo = 'run/app';
    const seed = await seedRepository(server, repo);
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: standardPolicy() }));

    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    const preview = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    const previewed = preview.previewResults!.map((r) => ({ digest: r.imageDigest, tags: r.imageTags ?? [], rulePriority: r.appliedRulePriority }));

    const dry = await server.wharf.lifecycle.run(repo, { dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.skipped).toEqual([]);
    expect(dry.expired.map((e) => ({ digest: e.digest, tags: e.tags, rulePriority: e.rulePriority }))).toEqual(previewed);
    expect(dry.expired.map((e) => e.digest).sort()).toEqual(seed.expected);
    expect(dry.bytes).toBe(dry.expired.reduce((n, e) => n + e.size, 0));
    expect(dry.bytes).toBeGreaterThan(0);
    // A dry run changes nothing.
    expect(await digestsIn(server, repo)).toEqual([...seed.expected, ...seed.kept].sort());
    expect(await auditRows(server, repo)).toEqual([]);

    const real = await server.wharf.lifecycle.run(repo);
    expect(real.dryRun).toBe(false);
    expect(real.skipped).toEqual([]);
    expect(real.expired.map((e) => e.digest).sort()).toEqual(dry.expired.map((e) => e.digest).sort());
    expect(real.bytes).toBe(dry.bytes);
    expect(real.repository).toBe(repo);

    // What is left, through the ECR API: exactly the kept images.
    expect(await digestsIn(server, repo)).toEqual(seed.kept);
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: repo }));
    expect(described.imageDetails!.map((d) => d.imageDigest).sort()).toEqual(seed.kept);

    // The index's children went with it, after it; the signature with its subject.
    const byDigest = new Map(real.expired.map((e, i) => [e.digest, { ...e, position: i }]));
    for (const child of seed.oldIndex.children) {
      expect(byDigest.get(child)!.withDigest).toBe(seed.oldIndex.digest);
      expect(byDigest.get(child)!.position).toBeGreaterThan(byDigest.get(seed.oldIndex.digest)!.position);
    }
    expect(byDigest.get(seed.oldSignature.digest)!.withDigest).toBe(seed.oldUntagged.digest);

    const audit = await auditRows(server, repo);
    expect(audit).toHaveLength(seed.expected.length);
    expect(audit.every((a) => a.actor === LIFECYCLE_ACTOR && a.action === 'LifecycleExpire')).toBe(true);
    expect(audit.map((a) => a.detail.digest).sort()).toEqual(seed.expected);
    expect(audit.find((a) => a.detail.digest === seed.v[0]!.digest)!.detail).toEqual({ digest: seed.v[0]!.digest, tags: ['v1'], rulePriority: 1 });
    expect(audit.find((a) => a.detail.digest === seed.oldIndex.children[0])!.detail).toMatchObject({ tags: [], rulePriority: 2, withDigest: seed.oldIndex.digest });

    // Nothing more to do: a second run expires nothing.
    const again = await server.wharf.lifecycle.run(repo);
    expect(again.expired).toEqual([]);
    expect(again.bytes).toBe(0);
  });

  it('an image a push changed between evaluation and deletion is skipped, with what goes with it', async () => {
    const repo = 'run/race';
    const seed = await seedRepository(server, repo);
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: standardPolicy() }));

    // Between the evaluation and the deleting transaction, someone tags the old untagged image
    // (the signature's subject) and moves v1 onto the newest image: both now have other tags.
    const runner = server.wharf.lifecycle;
    const expire = runner.store.expire.bind(runner.store);
    let pushed = false;
    runner.store.expire = async (...args) => {
      if (!pushed) {
        pushed = true;
        await putManifest(server.url, repo, 'rescued', seed.oldUntagged.manifest, OCI_MANIFEST);
        await putManifest(server.url, repo, 'v1', seed.v[3]!.manifest, OCI_MANIFEST);
      }
      return expire(...args);
    };
    let report;
    try {
      report = await runner.run(repo);
    } finally {
      runner.store.expire = expire;
    }
    const skipped = new Map(report.skipped.map((s) => [s.digest, s.reason]));
    expect([...skipped.keys()].sort()).toEqual([seed.v[0]!.digest, seed.oldUntagged.digest, seed.oldSignature.digest].sort());
    expect(skipped.get(seed.oldUntagged.digest)).toBe('its tags changed since the evaluation (now rescued)');
    expect(skipped.get(seed.v[0]!.digest)).toBe('its tags changed since the evaluation (now untagged)');
    expect(skipped.get(seed.oldSignature.digest)).toBe(`it goes with ${seed.oldUntagged.digest}, which stays`);
    expect(report.expired.map((e) => e.digest).sort()).toEqual([seed.v[1]!.digest, seed.oldIndex.digest, ...seed.oldIndex.children].sort());

    const left = await digestsIn(server, repo);
    for (const d of [seed.v[0]!.digest, seed.oldUntagged.digest, seed.oldSignature.digest, ...seed.kept]) expect(left).toContain(d);
    expect((await auditRows(server, repo)).map((a) => a.detail.digest).sort()).toEqual(report.expired.map((e) => e.digest).sort());

    // The next run sees the new state: v1 (now untagged, 40 days old) goes by the untagged rule.
    const next = await runner.run(repo);
    expect(next.expired.map((e) => e.digest)).toEqual([seed.v[0]!.digest]);
  });

  it('a child that became tagged stays (its index goes); an image deleted meanwhile is reported, not counted', async () => {
    const repo = 'run/partial';
    const { pushIndex } = await import('./run-fixtures.js');
    const index = await pushIndex(server.url, repo);
    const lone = await push(server.url, repo);
    await age(server, repo, [index.digest, ...index.children, lone.digest], 30);
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: standardPolicy() }));

    const runner = server.wharf.lifecycle;
    const expire = runner.store.expire.bind(runner.store);
    let once = false;
    runner.store.expire = async (...args) => {
      if (!once) {
        once = true;
        const db = server.wharf.registry.metadata.connection.db;
        // A tag pushed onto one platform manifest, and the lone image deleted by someone else.
        const child = await db.selectFrom('manifests').select(['id', 'repository_id']).where('digest', '=', index.children[0]!).executeTakeFirstOrThrow();
        await db.insertInto('tags').values({ repository_id: child.repository_id, name: 'pinned', manifest_id: child.id, updated_at: new Date().toISOString() }).execute();
        await server.wharf.registry.deleteManifest(repo, lone.digest);
      }
      return expire(...args);
    };
    let report;
    try {
      report = await runner.run(repo);
    } finally {
      runner.store.expire = expire;
    }
    expect(report.expired.map((e) => e.digest).sort()).toEqual([index.digest, index.children[1]!].sort());
    expect(report.skipped.map((s) => [s.digest, s.reason]).sort()).toEqual(
      [
        [index.children[0]!, 'its tags changed since the evaluation (now pinned)'],
        [lone.digest, 'already deleted'],
      ].sort(),
    );
    expect(await digestsIn(server, repo)).toEqual([index.children[0]!]);
  });
});

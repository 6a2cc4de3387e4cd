// The five lifecycle policy operations through @aws-sdk/client-ecr against a real server, on
// every test database: round trips, ECR's error types and messages, preview filtering and
// pagination, the in-progress guard, authorization and the audit trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  type ECRClient,
  type ECRServiceException,
  type GetLifecyclePolicyPreviewCommandOutput,
  type LifecyclePolicyPreviewResult,
} from '@aws-sdk/client-ecr';
import { testDatabases, type TestWharf } from '../helpers/wharf.js';
import { createUserWithKey, ecrClient, startEcrWharf } from '../ecr-api/helpers.js';
import { age, markPreview, policyText, push, seedRepository, standardPolicy } from './run-fixtures.js';

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  try {
    await promise;
  } catch (err) {
    const e = err as ECRServiceException;
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

/** Every page of a preview, following nextToken. */
async function allResults(ecr: ECRClient, repositoryName: string, maxResults?: number): Promise<{ results: LifecyclePolicyPreviewResult[]; pages: GetLifecyclePolicyPreviewCommandOutput[] }> {
  const pages: GetLifecyclePolicyPreviewCommandOutput[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName, ...(maxResults ? { maxResults } : {}), ...(nextToken ? { nextToken } : {}) }));
    pages.push(page);
    nextToken = page.nextToken;
  } while (nextToken);
  return { results: pages.flatMap((p) => p.previewResults ?? []), pages };
}

describe.each(testDatabases())('ECR API: lifecycle policies (%s)', (database) => {
  let server: TestWharf;
  let ecr: ECRClient;
  let registryId: string;

  beforeAll(async () => {
    server = await startEcrWharf(database);
    ecr = ecrClient(server);
    registryId = server.wharf.access!.account.accountId;
  });
  afterAll(async () => server?.stop());

  it('PutLifecyclePolicy stores the text verbatim; Get returns it with lastEvaluatedAt; Delete returns and removes it', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/roundtrip' }));
    const text = `  ${standardPolicy()}\n`;
    const put = await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/roundtrip', lifecyclePolicyText: text }));
    expect(put).toMatchObject({ registryId, repositoryName: 'lc/roundtrip', lifecyclePolicyText: text });

    const before = Date.now();
    const got = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/roundtrip' }));
    expect(got).toMatchObject({ registryId, repositoryName: 'lc/roundtrip', lifecyclePolicyText: text });
    expect(got.lastEvaluatedAt).toBeInstanceOf(Date);
    expect(Math.abs(got.lastEvaluatedAt!.getTime() - before)).toBeLessThan(60_000);

    // Putting again replaces it.
    const other = policyText([{ rulePriority: 1, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 100 }, action: { type: 'expire' } }]);
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/roundtrip', lifecyclePolicyText: other }));
    expect((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/roundtrip' }))).lifecyclePolicyText).toBe(other);

    const deleted = await ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'lc/roundtrip' }));
    expect(deleted).toMatchObject({ registryId, repositoryName: 'lc/roundtrip', lifecyclePolicyText: other });
    expect(deleted.lastEvaluatedAt).toBeInstanceOf(Date);

    const notFound = `Lifecycle policy does not exist for the repository with name 'lc/roundtrip' in the registry with id '${registryId}'`;
    expect(await failure(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/roundtrip' })))).toEqual({ name: 'LifecyclePolicyNotFoundException', status: 400, message: notFound });
    expect(await failure(ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'lc/roundtrip' })))).toEqual({ name: 'LifecyclePolicyNotFoundException', status: 400, message: notFound });

    const audit = await server.wharf.access!.identity.listAudit(50);
    expect(audit.filter((e) => e.action === 'ecr:PutLifecyclePolicy' && e.resource?.endsWith(':repository/lc/roundtrip'))).toHaveLength(2);
    expect(audit.some((e) => e.action === 'ecr:DeleteLifecyclePolicy' && e.resource?.endsWith(':repository/lc/roundtrip'))).toBe(true);
  });

  it('answers RepositoryNotFoundException, InvalidParameterException (the engine\'s message) and ValidationException', async () => {
    const missing = `The repository with name 'lc/absent' does not exist in the registry with id '${registryId}'`;
    const text = standardPolicy();
    for (const call of [
      () => ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/absent', lifecyclePolicyText: text })),
      () => ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/absent' })),
      () => ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'lc/absent' })),
      () => ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'lc/absent' })),
      () => ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lc/absent' })),
    ]) {
      expect(await failure(call())).toEqual({ name: 'RepositoryNotFoundException', status: 400, message: missing });
    }

    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'lc/invalid' }));
    const twoUntagged = policyText([
      { rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
      { rulePriority: 2, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }, action: { type: 'expire' } },
    ]);
    const invalid = {
      name: 'InvalidParameterException',
      status: 400,
      message: "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: Only one rule can select Untagged images.'",
    };
    expect(await failure(ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/invalid', lifecyclePolicyText: twoUntagged })))).toEqual(invalid);
    expect(await failure(ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: 'lc/invalid', lifecyclePolicyText: twoUntagged })))).toEqual(invalid);
    const notJson = `{"rules": [${' '.repeat(100)}`;
    expect((await failure(ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/invalid', lifecyclePolicyText: notJson })))).message).toContain('Could not map policyString into LifecyclePolicy.');
    // Nothing was stored.
    expect((await failure(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/invalid' })))).name).toBe('LifecyclePolicyNotFoundException');

    const short = await failure(ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'lc/invalid', lifecyclePolicyText: '{"rules":[]}' })));
    expect(short.name).toBe('ValidationException');
    expect(short.message).toContain("at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length greater than or equal to 100");
  });

  it('previews: not found before a start; a start without text needs a stored policy; results, summary, filters and pages', async () => {
    const repo = 'lc/preview';
    const seed = await seedRepository(server, repo);
    expect(await failure(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo })))).toEqual({
      name: 'LifecyclePolicyPreviewNotFoundException',
      status: 400,
      message: `Lifecycle policy preview does not exist for the repository with name '${repo}' in the registry with id '${registryId}'`,
    });
    expect((await failure(ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo })))).name).toBe('LifecyclePolicyNotFoundException');

    const text = standardPolicy();
    const started = await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: text }));
    expect(started).toMatchObject({ registryId, repositoryName: repo, lifecyclePolicyText: text, status: 'COMPLETE' });
    // A preview is not a policy: nothing was stored, nothing was deleted.
    expect((await failure(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo })))).name).toBe('LifecyclePolicyNotFoundException');

    const first = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    expect(first).toMatchObject({ registryId, repositoryName: repo, lifecyclePolicyText: text, status: 'COMPLETE', summary: { expiringImageTotalCount: seed.expected.length } });
    expect(first.nextToken).toBeUndefined();
    const results = first.previewResults!;
    expect(results.map((r) => r.imageDigest).sort()).toEqual(seed.expected);
    const v1 = results.find((r) => r.imageDigest === seed.v[0]!.digest)!;
    expect(v1).toEqual({ imageTags: ['v1'], imageDigest: seed.v[0]!.digest, imagePushedAt: expect.any(Date), action: { type: 'EXPIRE' }, appliedRulePriority: 1 });
    expect(Math.abs(v1.imagePushedAt!.getTime() - (Date.now() - 40 * 86_400_000))).toBeLessThan(120_000);
    // Children and referrers go under their unit's rule.
    for (const d of [seed.oldUntagged.digest, seed.oldSignature.digest, seed.oldIndex.digest, ...seed.oldIndex.children]) {
      const r = results.find((x) => x.imageDigest === d)!;
      expect(r.appliedRulePriority).toBe(2);
      expect(r.imageTags).toBeUndefined();
    }

    // One result per page: the same results, in the same order, and every page carries the summary.
    const paged = await allResults(ecr, repo, 1);
    expect(paged.pages).toHaveLength(seed.expected.length);
    expect(paged.results).toEqual(results);
    expect(paged.pages.every((p) => p.summary?.expiringImageTotalCount === seed.expected.length)).toBe(true);
    const three = await allResults(ecr, repo, 3);
    expect(three.pages.map((p) => p.previewResults!.length)).toEqual([3, 3, 1]);

    const tagged = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, filter: { tagStatus: 'TAGGED' } }));
    expect(tagged.previewResults!.map((r) => r.imageTags)).toEqual([['v1'], ['v2']]);
    expect(tagged.summary!.expiringImageTotalCount).toBe(seed.expected.length);
    const untagged = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, filter: { tagStatus: 'UNTAGGED' } }));
    expect(untagged.previewResults).toHaveLength(seed.expected.length - 2);

    const byId = await ecr.send(
      new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v2' }, { imageDigest: seed.oldIndex.digest }, { imageTag: 'v4' }, { imageDigest: seed.v[0]!.digest, imageTag: 'v2' }] }),
    );
    expect(byId.previewResults!.map((r) => r.imageDigest).sort()).toEqual([seed.v[1]!.digest, seed.oldIndex.digest].sort());

    expect((await failure(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v1' }], maxResults: 5 })))).name).toBe('InvalidParameterException');
    const token = (await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, maxResults: 2 }))).nextToken!;
    const forged = await failure(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, maxResults: 2, nextToken: `${token.slice(0, -2)}xx` })));
    expect(forged).toEqual({ name: 'InvalidParameterException', status: 400, message: "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'" });
    // A token belongs to its filter, and to its preview: a new start invalidates it.
    expect((await failure(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, nextToken: token, filter: { tagStatus: 'UNTAGGED' } })))).name).toBe('InvalidParameterException');

    // Start without text previews the stored policy.
    const keepOne = standardPolicy(1, 7);
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: keepOne }));
    const again = await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    expect(again).toMatchObject({ lifecyclePolicyText: keepOne, status: 'COMPLETE' });
    expect((await failure(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo, maxResults: 2, nextToken: token })))).name).toBe('InvalidParameterException');
    const now = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    expect(now.lifecyclePolicyText).toBe(keepOne);
    expect(now.previewResults!.filter((r) => r.imageTags).map((r) => r.imageTags)).toEqual([['v1'], ['v2'], ['v3']]);
    expect(await server.wharf.lifecycle.run(repo, { dryRun: true }).then((r) => r.expired.length)).toBe(now.summary!.expiringImageTotalCount);
  });

  it('a preview in progress elsewhere: LifecyclePolicyPreviewInProgressException; Get shows IN_PROGRESS; a stale one is taken over', async () => {
    const repo = 'lc/busy';
    const image = await push(server.url, repo);
    await age(server, repo, [image.digest], 30);
    const text = standardPolicy();
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: text }));
    await markPreview(server, repo, 'IN_PROGRESS', new Date().toISOString());

    expect(await failure(ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: text })))).toEqual({
      name: 'LifecyclePolicyPreviewInProgressException',
      status: 400,
      message: `The previous lifecycle policy preview request has not completed for the repository with name '${repo}' in the registry with id '${registryId}'. Wait and try again.`,
    });
    const busy = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    expect(busy).toMatchObject({ status: 'IN_PROGRESS', previewResults: [], summary: { expiringImageTotalCount: 0 } });

    // Left IN_PROGRESS for over five minutes: its process died. It reads as FAILED and may be replaced.
    await markPreview(server, repo, 'IN_PROGRESS', new Date(Date.now() - 6 * 60_000).toISOString());
    expect((await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }))).status).toBe('FAILED');
    expect((await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: text }))).status).toBe('COMPLETE');
    const done = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    expect(done.previewResults!.map((r) => r.imageDigest)).toEqual([image.digest]);

    // Concurrent starts: each one completes or is told another is in progress; the stored preview is complete.
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo, lifecyclePolicyText: text })).then(
          (r) => r.status,
          (err: Error) => err.name,
        ),
      ),
    );
    expect(outcomes.every((o) => o === 'COMPLETE' || o === 'LifecyclePolicyPreviewInProgressException')).toBe(true);
    expect(outcomes).toContain('COMPLETE');
    expect((await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }))).status).toBe('COMPLETE');
  });

  it('a deleted repository takes its policy and preview with it', async () => {
    const repo = 'lc/gone';
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: standardPolicy() }));
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }));
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: repo, force: true }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
    expect((await failure(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo })))).name).toBe('LifecyclePolicyNotFoundException');
    expect((await failure(ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo })))).name).toBe('LifecyclePolicyPreviewNotFoundException');
  });

  it('each operation is authorized as ecr:<Operation> on the repository', async () => {
    const repo = 'lc/authz';
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repo }));
    const text = standardPolicy();
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: text }));
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }));

    const nobody = ecrClient(server, await createUserWithKey(server, 'lc-nobody'));
    const arn = `arn:aws:ecr:us-east-1:${registryId}:repository/${repo}`;
    const calls: [string, () => Promise<unknown>][] = [
      ['PutLifecyclePolicy', () => nobody.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: text }))],
      ['GetLifecyclePolicy', () => nobody.send(new GetLifecyclePolicyCommand({ repositoryName: repo }))],
      ['DeleteLifecyclePolicy', () => nobody.send(new DeleteLifecyclePolicyCommand({ repositoryName: repo }))],
      ['StartLifecyclePolicyPreview', () => nobody.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: repo }))],
      ['GetLifecyclePolicyPreview', () => nobody.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }))],
    ];
    for (const [action, call] of calls) {
      expect(await failure(call())).toEqual({
        name: 'AccessDeniedException',
        status: 400,
        message: `User: arn:aws:iam::${registryId}:user/lc-nobody is not authorized to perform: ecr:${action} on resource: ${arn} because no identity-based policy allows the ecr:${action} action`,
      });
    }

    const reader = ecrClient(
      server,
      await createUserWithKey(server, 'lc-reader', {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['ecr:GetLifecyclePolicy', 'ecr:GetLifecyclePolicyPreview'], Resource: arn }],
      }),
    );
    expect((await reader.send(new GetLifecyclePolicyCommand({ repositoryName: repo }))).lifecyclePolicyText).toBe(text);
    expect((await reader.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: repo }))).status).toBe('COMPLETE');
    expect((await failure(reader.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: text })))).name).toBe('AccessDeniedException');
    expect((await failure(reader.send(new GetLifecyclePolicyCommand({ repositoryName: 'lc/other' })))).name).toBe('AccessDeniedException');
    // The policy is still there.
    expect((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: repo }))).lifecyclePolicyText).toBe(text);
  });
});

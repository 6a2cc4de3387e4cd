// The ECR API's repository and registry operations through @aws-sdk/client-ecr against a real
// server (IAM on), on every test database: results, ECR's error types and messages, the
// protocol's own failures (signatures, targets, validation), and authorization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateRepositoryCommand,
  DeleteRegistryPolicyCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetRegistryScanningConfigurationCommand,
  GetRegistryPolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutRegistryPolicyCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type ECRServiceException,
} from '@aws-sdk/client-ecr';
import { startWharf, testDatabases, type TestWharf } from '../helpers/wharf.js';
import { ADMIN, basic, createUserWithKey, ecrClient, makeImage, pushV2, startEcrWharf } from './helpers.js';

/** The error a call fails with (name, message, HTTP status); fails the test if it succeeds. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined; raw: ECRServiceException }> {
  try {
    await promise;
  } catch (err) {
    const e = err as ECRServiceException;
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode, raw: e };
  }
  throw new Error('expected the call to fail');
}

const TARGET = 'AmazonEC2ContainerRegistry_V20150921';

describe.each(testDatabases())('ECR API: repositories and registry (%s)', (database) => {
  let server: TestWharf;
  let ecr: ECRClient;
  let registryId: string;
  let region: string;
  const arn = (name: string) => `arn:aws:ecr:${region}:${registryId}:repository/${name}`;

  beforeAll(async () => {
    server = await startEcrWharf(database);
    ecr = ecrClient(server);
    registryId = server.wharf.access!.account.accountId;
    region = server.wharf.access!.account.region;
  });
  afterAll(async () => server?.stop());

  it('CreateRepository stores every setting and DescribeRepositories returns them', async () => {
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'team/created',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }],
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' },
        tags: [
          { Key: 'team', Value: 'blue' },
          { Key: 'cost center', Value: '' },
        ],
      }),
    );
    const host = server.url.replace('http://', '');
    expect(out.repository).toMatchObject({
      repositoryArn: arn('team/created'),
      registryId,
      repositoryName: 'team/created',
      repositoryUri: `${host}/team/created`,
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }],
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' },
    });
    expect(out.repository!.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(out.repository!.createdAt!.getTime() - Date.now())).toBeLessThan(60_000);

    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/created'] }));
    expect(described.repositories).toEqual([out.repository]);
    const tags = await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn('team/created') }));
    expect(tags.tags).toEqual([
      { Key: 'team', Value: 'blue' },
      { Key: 'cost center', Value: '' },
    ]);
  });

  it('CreateRepository takes all four mutability settings, defaults to MUTABLE/AES256, and refuses duplicates', async () => {
    const plain = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'mut/default' }));
    expect(plain.repository).toMatchObject({
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'AES256' },
    });
    expect(plain.repository!.imageTagMutabilityExclusionFilters).toBeUndefined();
    for (const [i, mutability] of (['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const).entries()) {
      const filters = mutability.endsWith('_WITH_EXCLUSION') ? [{ filterType: 'WILDCARD' as const, filter: `rc-*` }] : undefined;
      const r = await ecr.send(
        new CreateRepositoryCommand({ repositoryName: `mut/r${i}`, imageTagMutability: mutability, ...(filters ? { imageTagMutabilityExclusionFilters: filters } : {}) }),
      );
      expect(r.repository!.imageTagMutability).toBe(mutability);
      expect(r.repository!.imageTagMutabilityExclusionFilters).toEqual(filters);
    }
    const dup = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: 'mut/default' })));
    expect(dup).toMatchObject({
      name: 'RepositoryAlreadyExistsException',
      status: 400,
      message: `The repository with name 'mut/default' already exists in the registry with id '${registryId}'`,
    });
    const noFilters = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: 'mut/bad', imageTagMutability: 'MUTABLE_WITH_EXCLUSION' })));
    expect(noFilters.name).toBe('InvalidParameterException');
    const extraFilters = await failure(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'mut/bad', imageTagMutability: 'IMMUTABLE', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'x' }] })),
    );
    expect(extraFilters.name).toBe('InvalidParameterException');
    const kmsKeyWithAes = await failure(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'mut/bad', encryptionConfiguration: { encryptionType: 'AES256', kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/abc' } })),
    );
    expect(kmsKeyWithAes.name).toBe('InvalidParameterException');
    expect((await failure(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['mut/bad'] })))).name).toBe('RepositoryNotFoundException');
  });

  it('validates input as ECR does: names, enums, required members, ranges', async () => {
    const upper = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Team/App' })));
    expect(upper.name).toBe('ValidationException');
    expect(upper.status).toBe(400);
    expect(upper.message).toMatch(/^1 validation error detected: Value 'Team\/App' at 'repositoryName' failed to satisfy constraint: Member must satisfy regular expression pattern: /);
    const short = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: 'a' })));
    expect(short.message).toContain("Value 'a' at 'repositoryName' failed to satisfy constraint: Member must have length greater than or equal to 2");
    const missing = await failure(ecr.send(new CreateRepositoryCommand({} as never)));
    expect(missing.message).toBe("1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null");
    const badEnum = await failure(ecr.send(new CreateRepositoryCommand({ repositoryName: 'ok/name', imageTagMutability: 'NEVER' as never })));
    expect(badEnum.message).toContain('Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]');
    const range = await failure(ecr.send(new DescribeRepositoriesCommand({ maxResults: 1001 })));
    expect(range).toMatchObject({
      name: 'ValidationException',
      message: "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    });
    const both = await failure(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['mut/default'], maxResults: 5 })));
    expect(both.name).toBe('InvalidParameterException');
    const otherRegistry = await failure(ecr.send(new DescribeRepositoriesCommand({ registryId: '000000000000' })));
    expect(otherRegistry.name).toBe('InvalidParameterException');
    expect(otherRegistry.message).toContain(registryId);
  });

  it('DescribeRepositories pages with maxResults and an opaque, stable nextToken; forged tokens are refused', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) await ecr.send(new CreateRepositoryCommand({ repositoryName: `page/${n}${n}` }));
    const all = (await ecr.send(new DescribeRepositoriesCommand({}))).repositories!.map((r) => r.repositoryName);
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(['page/aa', 'page/ee', 'team/created']));

    const seen: string[] = [];
    let token: string | undefined;
    let first: string | undefined;
    let pages = 0;
    do {
      const page = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2, ...(token ? { nextToken: token } : {}) }));
      expect(page.repositories!.length).toBeLessThanOrEqual(2);
      seen.push(...page.repositories!.map((r) => r.repositoryName!));
      token = page.nextToken;
      first ??= token;
      pages++;
      // A repository created mid-listing before the cursor neither repeats nor shifts entries.
      if (pages === 2) await ecr.send(new CreateRepositoryCommand({ repositoryName: 'aaa/inserted' }));
    } while (token);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 2));
    // The same token again gives the same page.
    const again1 = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2, nextToken: first }));
    const again2 = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2, nextToken: first }));
    expect(again1.repositories).toEqual(again2.repositories);
    expect(first).not.toContain('page/');

    for (const forged of ['bm90LWEtdG9rZW4', `${first}x`, Buffer.from(JSON.stringify({ s: 'DescribeRepositories', p: 'page/cc' })).toString('base64url') + '.AAAA']) {
      const bad = await failure(ecr.send(new DescribeRepositoriesCommand({ nextToken: forged })));
      expect(bad).toMatchObject({ name: 'InvalidParameterException', message: "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'" });
    }
  });

  it('DeleteRepository refuses a repository with images unless forced, and deletes uploads and images with force', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'del/empty' }));
    const deleted = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'del/empty' }));
    expect(deleted.repository).toMatchObject({ repositoryName: 'del/empty', repositoryArn: arn('del/empty') });
    expect((await failure(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'del/empty' })))).message).toBe(
      `The repository with name 'del/empty' does not exist in the registry with id '${registryId}'`,
    );

    const image = makeImage([2000]);
    expect((await pushV2(server.url, 'del/full', image, 'v1'))!.status).toBe(201);
    const upload = await fetch(`${server.url}/v2/del/full/blobs/uploads/`, { method: 'POST', headers: { authorization: basic('admin', ADMIN.password) } });
    expect(upload.status).toBe(202);
    const notEmpty = await failure(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'del/full' })));
    expect(notEmpty).toMatchObject({
      name: 'RepositoryNotEmptyException',
      status: 400,
      message: `The repository with name 'del/full' in registry with id '${registryId}' cannot be deleted because it still contains images`,
    });
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'del/full', force: true }));
    const gone = await fetch(`${server.url}/v2/del/full/manifests/v1`, { headers: { authorization: basic('admin', ADMIN.password) } });
    expect(gone.status).toBe(404);
    expect((await fetch(`${server.url}${upload.headers.get('location')}`, { headers: { authorization: basic('admin', ADMIN.password) } })).status).toBe(404);
    // The name is free again, with default settings.
    const again = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'del/full' }));
    expect(again.repository!.imageTagMutability).toBe('MUTABLE');
  });

  it('PutImageTagMutability and PutImageScanningConfiguration change the settings', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'set/repo' }));
    const m = await ecr.send(
      new PutImageTagMutabilityCommand({ repositoryName: 'set/repo', imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'release-*' }] }),
    );
    expect(m).toMatchObject({ registryId, repositoryName: 'set/repo', imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'release-*' }] });
    const s = await ecr.send(new PutImageScanningConfigurationCommand({ repositoryName: 'set/repo', imageScanningConfiguration: { scanOnPush: true } }));
    expect(s).toMatchObject({ registryId, repositoryName: 'set/repo', imageScanningConfiguration: { scanOnPush: true } });
    const r = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['set/repo'] }))).repositories![0]!;
    expect(r).toMatchObject({ imageTagMutability: 'MUTABLE_WITH_EXCLUSION', imageScanningConfiguration: { scanOnPush: true } });
    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'set/repo', imageTagMutability: 'IMMUTABLE' }));
    const r2 = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['set/repo'] }))).repositories![0]!;
    expect(r2.imageTagMutability).toBe('IMMUTABLE');
    expect(r2.imageTagMutabilityExclusionFilters).toBeUndefined();
    expect((await failure(ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'set/none', imageTagMutability: 'MUTABLE' })))).name).toBe('RepositoryNotFoundException');
    expect(
      (await failure(ecr.send(new PutImageScanningConfigurationCommand({ repositoryName: 'set/none', imageScanningConfiguration: { scanOnPush: true } })))).name,
    ).toBe('RepositoryNotFoundException');
  });

  it('TagResource, UntagResource and ListTagsForResource, with the tagging rules and condition keys', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'tags/repo', tags: [{ Key: 'env', Value: 'dev' }] }));
    await ecr.send(new TagResourceCommand({ resourceArn: arn('tags/repo'), tags: [{ Key: 'env', Value: 'prod' }, { Key: 'owner', Value: 'ops' }] }));
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn('tags/repo') }))).tags).toEqual([
      { Key: 'env', Value: 'prod' },
      { Key: 'owner', Value: 'ops' },
    ]);
    await ecr.send(new UntagResourceCommand({ resourceArn: arn('tags/repo'), tagKeys: ['env', 'absent'] }));
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn('tags/repo') }))).tags).toEqual([{ Key: 'owner', Value: 'ops' }]);

    const reserved = await failure(ecr.send(new TagResourceCommand({ resourceArn: arn('tags/repo'), tags: [{ Key: 'aws:thing', Value: 'x' }] })));
    expect(reserved.name).toBe('InvalidTagParameterException');
    const long = await failure(ecr.send(new TagResourceCommand({ resourceArn: arn('tags/repo'), tags: [{ Key: 'k'.repeat(129), Value: 'x' }] })));
    expect(long.name).toBe('InvalidTagParameterException');
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const tooMany = await failure(ecr.send(new TagResourceCommand({ resourceArn: arn('tags/repo'), tags: many })));
    expect(tooMany.name).toBe('TooManyTagsException');
    const badArn = await failure(ecr.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:ecr:eu-west-1:111111111111:repository/tags/repo' })));
    expect(badArn.name).toBe('InvalidParameterException');
    const missingRepo = await failure(ecr.send(new ListTagsForResourceCommand({ resourceArn: arn('tags/none') })));
    expect(missingRepo.name).toBe('RepositoryNotFoundException');

    // Resource tags are condition keys for the same authorization that guards /v2.
    const tagged = await createUserWithKey(server, 'tag-reader', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: '*', Condition: { StringEquals: { 'ecr:ResourceTag/owner': 'ops' } } }],
    });
    const reader = ecrClient(server, tagged);
    expect((await reader.send(new DescribeRepositoriesCommand({ repositoryNames: ['tags/repo'] }))).repositories).toHaveLength(1);
    expect((await failure(reader.send(new DescribeRepositoriesCommand({ repositoryNames: ['mut/default'] })))).name).toBe('AccessDeniedException');
    const listed = (await reader.send(new DescribeRepositoriesCommand({}))).repositories!.map((r) => r.repositoryName);
    expect(listed).toEqual(['tags/repo']);
  });

  it('SetRepositoryPolicy, GetRepositoryPolicy and DeleteRepositoryPolicy; the policy takes effect on /v2', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'pol/repo' }));
    const notFound = await failure(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'pol/repo' })));
    expect(notFound).toMatchObject({
      name: 'RepositoryPolicyNotFoundException',
      message: `Repository policy does not exist for the repository with name 'pol/repo' in the registry with id '${registryId}'`,
    });
    const guest = await createUserWithKey(server, 'pol-guest');
    const policyText = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'guest', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${registryId}:user/pol-guest` }, Action: ['ecr:ListImages', 'ecr:DescribeRepositories'] }],
    });
    const set = await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/repo', policyText }));
    expect(set).toMatchObject({ registryId, repositoryName: 'pol/repo', policyText });
    expect((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'pol/repo' }))).policyText).toBe(policyText);
    // The guest's access key (Basic on /v2) now lists tags; the ECR API describes the repository.
    expect((await fetch(`${server.url}/v2/pol/repo/tags/list`, { headers: { authorization: basic(guest.accessKeyId, guest.secret) } })).status).toBe(200);
    expect((await ecrClient(server, guest).send(new DescribeRepositoriesCommand({ repositoryNames: ['pol/repo'] }))).repositories).toHaveLength(1);

    const malformed = await failure(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/repo', policyText: '{"Statement": [{"Effect": "Maybe"}]}' })));
    expect(malformed.name).toBe('InvalidParameterException');
    expect(malformed.message).toContain("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'");
    expect((await failure(ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'pol/none', policyText })))).name).toBe('RepositoryNotFoundException');

    expect((await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'pol/repo' }))).policyText).toBe(policyText);
    expect((await failure(ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'pol/repo' })))).name).toBe('RepositoryPolicyNotFoundException');
    expect((await fetch(`${server.url}/v2/pol/repo/tags/list`, { headers: { authorization: basic(guest.accessKeyId, guest.secret) } })).status).toBe(403);
  });

  it('PutRegistryPolicy, GetRegistryPolicy, DeleteRegistryPolicy and DescribeRegistry', async () => {
    expect((await failure(ecr.send(new GetRegistryPolicyCommand({})))).name).toBe('RegistryPolicyNotFoundException');
    const policyText = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ecr:DeleteRepository', Resource: arn('reg/protected') }],
    });
    expect(await ecr.send(new PutRegistryPolicyCommand({ policyText }))).toMatchObject({ registryId, policyText });
    expect((await ecr.send(new GetRegistryPolicyCommand({}))).policyText).toBe(policyText);
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'reg/protected' }));
    const denied = await failure(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'reg/protected' })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('explicit deny');
    expect((await ecr.send(new DeleteRegistryPolicyCommand({}))).policyText).toBe(policyText);
    expect((await failure(ecr.send(new DeleteRegistryPolicyCommand({})))).name).toBe('RegistryPolicyNotFoundException');
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'reg/protected' }));
    expect((await failure(ecr.send(new PutRegistryPolicyCommand({ policyText: 'not json' })))).name).toBe('InvalidParameterException');
    expect(await ecr.send(new DescribeRegistryCommand({}))).toMatchObject({ registryId, replicationConfiguration: { rules: [] } });
  });

  it('GetAuthorizationToken gives a 12-hour AWS:<token> credential that /v2 accepts', async () => {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData![0]!;
    expect(data.proxyEndpoint).toBe(server.url);
    const decoded = Buffer.from(data.authorizationToken!, 'base64').toString();
    expect(decoded.startsWith('AWS:')).toBe(true);
    const hours = (data.expiresAt!.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(11.9);
    expect(hours).toBeLessThanOrEqual(12);
    const res = await fetch(`${server.url}/v2/token?service=wharf`, { headers: { authorization: `Basic ${data.authorizationToken}` } });
    expect(res.status).toBe(200);
  });

  it('throttles repeated bad signatures per access key and address, auditing each lock once', async () => {
    const target = await createUserWithKey(server, 'guess-target', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    const guessing = ecrClient(server, { accessKeyId: target.accessKeyId, secret: `${target.secret}x` });
    for (let i = 0; i < 10; i++) expect((await failure(guessing.send(new DescribeRegistryCommand({})))).name).toBe('InvalidSignatureException');
    // Locked now: even the right secret is turned away, however often it is tried.
    for (let i = 0; i < 5; i++) {
      expect(await failure(ecrClient(server, target).send(new DescribeRegistryCommand({})))).toMatchObject({ name: 'ThrottlingException', status: 400 });
    }
    const events = (await server.wharf.access!.identity.listAudit(100)).filter((e) => e.actor === target.accessKeyId);
    expect(events.filter((e) => (e.detail ?? '').includes('InvalidSignatureException'))).toHaveLength(10);
    expect(events.filter((e) => (e.detail ?? '').includes('throttled'))).toHaveLength(1);
    // Other keys from the same address are not affected.
    expect((await ecrClient(server).send(new DescribeRegistryCommand({}))).registryId).toBe(registryId);
  });

  it('authenticates with Signature V4 and answers the exact AWS errors', async () => {
    const wrongSecret = ecrClient(server, { accessKeyId: ADMIN.accessKeyId, secret: `${ADMIN.secret}x` });
    const bad = await failure(wrongSecret.send(new DescribeRegistryCommand({})));
    expect(bad).toMatchObject({ name: 'InvalidSignatureException', status: 400 });
    expect(bad.message).toContain('The request signature we calculated does not match the signature you provided.');
    const unknown = await failure(ecrClient(server, { accessKeyId: 'AKIAUNKNOWNKEY234567', secret: 'x'.repeat(40) }).send(new DescribeRegistryCommand({})));
    expect(unknown).toMatchObject({ name: 'UnrecognizedClientException', status: 400, message: 'The security token included in the request is invalid.' });
    const skewed = new ECRClient({
      endpoint: server.url,
      region: 'us-east-1',
      credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secret },
      maxAttempts: 1,
      systemClockOffset: -20 * 60_000,
    });
    const expired = await failure(skewed.send(new DescribeRegistryCommand({})));
    expect(expired.name).toBe('InvalidSignatureException');
    expect(expired.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    // Any region the client signs for is accepted.
    expect((await ecrClient(server, ADMIN, 'eu-central-1').send(new DescribeRegistryCommand({}))).registryId).toBe(registryId);
    // Deactivated keys stop at once.
    const temp = await createUserWithKey(server, 'temp-key', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
    expect((await ecrClient(server, temp).send(new DescribeRegistryCommand({}))).registryId).toBe(registryId);
    await server.wharf.access!.identity.setAccessKeyStatus(temp.accessKeyId, 'Inactive');
    expect((await failure(ecrClient(server, temp).send(new DescribeRegistryCommand({})))).name).toBe('UnrecognizedClientException');

    const anonymous = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${TARGET}.DescribeRegistry` }, body: '{}' });
    expect(anonymous.status).toBe(400);
    expect(anonymous.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await anonymous.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
    expect(anonymous.headers.get('x-amzn-requestid')).toBeTruthy();
  });

  it('answers unknown targets, unsupported operations and malformed bodies in the protocol', async () => {
    const send = async (target: string, body: string) => {
      // Signed like the SDK does, with the SDK's own signer.
      const { SignatureV4 } = await import('@smithy/signature-v4');
      const { Sha256 } = await import('@aws-crypto/sha256-js');
      const signer = new SignatureV4({ service: 'ecr', region: 'us-east-1', sha256: Sha256, credentials: { accessKeyId: ADMIN.accessKeyId, secretAccessKey: ADMIN.secret } });
      const url = new URL(server.url);
      const signed = await signer.sign({
        method: 'POST',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: '/',
        headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
        body,
      });
      const res = await fetch(server.url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
      return { status: res.status, body: (await res.json()) as { __type: string; message: string } };
    };
    const unknown = await send(`${TARGET}.MakeCoffee`, '{}');
    expect(unknown.status).toBe(400);
    expect(unknown.body.__type).toBe('UnknownOperationException');
    const serialization = await send(`${TARGET}.CreateRepository`, '{"repositoryName": 12}');
    expect(serialization.body.__type).toBe('SerializationException');
    const notJson = await send(`${TARGET}.CreateRepository`, '{"repositoryName": ');
    expect(notJson.body.__type).toBe('SerializationException');
    const extra = await send(`${TARGET}.DescribeRegistry`, '{"someFutureField": {"x": 1}}');
    expect(extra.status).toBe(200);

    const huge = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${TARGET}.UploadLayerPart` },
      body: Buffer.alloc(31 * 1024 * 1024, 0x20),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { __type: string }).__type).toBe('ValidationException');

    const later = await failure(ecr.send(new GetRegistryScanningConfigurationCommand({})));
    expect(later).toMatchObject({ name: 'UnsupportedOperationException', status: 400 });
    expect(later.message).toContain('image scanning');
  });

  it('a user without policies is denied with AccessDeniedException in AWS words, and audited', async () => {
    const nobody = await createUserWithKey(server, 'ecr-nobody');
    const client = ecrClient(server, nobody);
    const denied = await failure(client.send(new CreateRepositoryCommand({ repositoryName: 'denied/repo' })));
    expect(denied).toMatchObject({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: arn:aws:iam::${registryId}:user/ecr-nobody is not authorized to perform: ecr:CreateRepository on resource: ${arn('denied/repo')} because no identity-based policy allows the ecr:CreateRepository action`,
    });
    const registryWide = await failure(client.send(new GetAuthorizationTokenCommand({})));
    expect(registryWide.message).toContain('ecr:GetAuthorizationToken on resource: *');
    expect((await client.send(new DescribeRepositoriesCommand({}))).repositories).toEqual([]);
    expect((await failure(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['denied/repo'] })))).name).toBe('RepositoryNotFoundException');
    const audit = await server.wharf.access!.identity.listAudit(20);
    expect(audit.some((e) => e.outcome === 'denied' && e.action === 'ecr:CreateRepository' && e.actor?.endsWith(':user/ecr-nobody'))).toBe(true);

    // Scoped by resource: allowed on one prefix only.
    const scoped = await createUserWithKey(server, 'ecr-scoped', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['ecr:CreateRepository', 'ecr:DeleteRepository'], Resource: `arn:aws:ecr:*:*:repository/scoped/*` }],
    });
    const s = ecrClient(server, scoped);
    await s.send(new CreateRepositoryCommand({ repositoryName: 'scoped/one' }));
    expect((await failure(s.send(new CreateRepositoryCommand({ repositoryName: 'other/one' })))).name).toBe('AccessDeniedException');
    await s.send(new DeleteRepositoryCommand({ repositoryName: 'scoped/one' }));
  });
});

describe('ECR API with auth: none', () => {
  let server: TestWharf;
  beforeAll(async () => {
    server = await startWharf({ database: 'sqlite' });
  });
  afterAll(async () => server?.stop());

  it('answers every call with an error that says the ECR API needs auth: iam', async () => {
    const err = await failure(ecrClient(server).send(new DescribeRepositoriesCommand({})));
    expect(err).toMatchObject({ name: 'UnsupportedOperationException', status: 400 });
    expect(err.message).toContain('auth: iam');
    // /v2 still works there.
    expect((await fetch(`${server.url}/v2/`)).status).toBe(200);
  });
});

// The ECR API's image operations through @aws-sdk/client-ecr against a real server, on every
// test database, sharing the domain with /v2: what one surface pushes the other sees, the same
// tag immutability and authorization apply to both, and ECR's partial failures and errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  ListImageReferrersCommand,
  ListImagesCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  UploadLayerPartCommand,
  type DescribeImagesCommandOutput,
  type ECRClient,
  type ECRServiceException,
  type ImageIdentifier,
} from '@aws-sdk/client-ecr';
import { testDatabases, type TestWharf } from '../helpers/wharf.js';
import { ADMIN, basic, createUserWithKey, ecrClient, makeImage, pushV2, sha256, startEcrWharf, type PushedImage } from './helpers.js';

async function failure(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined; raw: ECRServiceException & Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    const e = err as ECRServiceException & Record<string, unknown>;
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode, raw: e };
  }
  throw new Error('expected the call to fail');
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const admin = basic('admin', ADMIN.password);

/** Uploads bytes as a layer through InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload. */
async function uploadLayer(ecr: ECRClient, repositoryName: string, bytes: Buffer, partSize = bytes.length): Promise<string> {
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
  for (let first = 0; first < bytes.length; first += partSize) {
    const part = bytes.subarray(first, Math.min(first + partSize, bytes.length));
    const out = await ecr.send(new UploadLayerPartCommand({ repositoryName, uploadId, partFirstByte: first, partLastByte: first + part.length - 1, layerPartBlob: part }));
    expect(out.lastByteReceived).toBe(first + part.length - 1);
  }
  const done = await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [sha256(bytes)] }));
  return done.layerDigest!;
}

async function putImage(ecr: ECRClient, repositoryName: string, image: PushedImage, tag?: string) {
  for (const blob of [image.config, ...image.layers]) await uploadLayer(ecr, repositoryName, blob).catch((err: Error) => {
    if (err.name !== 'LayerAlreadyExistsException') throw err;
  });
  return ecr.send(new PutImageCommand({ repositoryName, imageManifest: image.manifest.toString(), imageManifestMediaType: OCI_MANIFEST, ...(tag ? { imageTag: tag } : {}) }));
}

describe.each(testDatabases())('ECR API: images (%s)', (database) => {
  let server: TestWharf;
  let ecr: ECRClient;
  let registryId: string;

  beforeAll(async () => {
    server = await startEcrWharf(database);
    ecr = ecrClient(server);
    registryId = server.wharf.access!.account.accountId;
  });
  afterAll(async () => server?.stop());

  it('an image pushed through /v2 is listed, described and fetched by the ECR API', async () => {
    const image = makeImage([3000, 5000]);
    expect((await pushV2(server.url, 'v2/pushed', image, 'v1'))!.status).toBe(201);
    expect((await pushV2(server.url, 'v2/pushed', image, 'latest'))!.status).toBe(201);
    const untagged = makeImage([100]);
    expect((await pushV2(server.url, 'v2/pushed', untagged))!.status).toBe(201);

    const any = await ecr.send(new ListImagesCommand({ repositoryName: 'v2/pushed' }));
    expect(any.imageIds).toEqual([
      { imageDigest: image.digest, imageTag: 'latest' },
      { imageDigest: image.digest, imageTag: 'v1' },
      { imageDigest: untagged.digest },
    ]);
    expect(any.nextToken).toBeUndefined();
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'v2/pushed', filter: { tagStatus: 'TAGGED' } }))).imageIds).toHaveLength(2);
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'v2/pushed', filter: { tagStatus: 'UNTAGGED' } }))).imageIds).toEqual([{ imageDigest: untagged.digest }]);

    const { imageDetails } = await ecr.send(new DescribeImagesCommand({ repositoryName: 'v2/pushed' }));
    expect(imageDetails).toHaveLength(2);
    const d = imageDetails![0]!;
    expect(d).toMatchObject({
      registryId,
      repositoryName: 'v2/pushed',
      imageDigest: image.digest,
      imageTags: ['latest', 'v1'],
      imageSizeInBytes: image.config.length + 3000 + 5000,
      imageManifestMediaType: OCI_MANIFEST,
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
    });
    expect(d.imagePushedAt).toBeInstanceOf(Date);
    expect(d.lastRecordedPullTime).toBeUndefined();
    expect(imageDetails![1]!.imageTags).toBeUndefined();
    const tagged = await ecr.send(new DescribeImagesCommand({ repositoryName: 'v2/pushed', filter: { tagStatus: 'TAGGED' } }));
    expect(tagged.imageDetails!.map((x) => x.imageDigest)).toEqual([image.digest]);

    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'v2/pushed',
        imageIds: [{ imageTag: 'v1' }, { imageDigest: untagged.digest }, { imageTag: 'nope' }, { imageDigest: 'sha256:1234' }, { imageTag: 'v1', imageDigest: untagged.digest }, {}],
      }),
    );
    expect(got.images!.map((i) => [i.imageId, i.imageManifestMediaType, i.imageManifest])).toEqual([
      [{ imageDigest: image.digest, imageTag: 'v1' }, OCI_MANIFEST, image.manifest.toString()],
      [{ imageDigest: untagged.digest }, OCI_MANIFEST, untagged.manifest.toString()],
    ]);
    expect(got.failures!.map((f) => f.failureCode)).toEqual(['ImageNotFound', 'InvalidImageDigest', 'ImageTagDoesNotMatchDigest', 'MissingDigestAndTag']);
    expect(got.failures![0]).toEqual({ imageId: { imageTag: 'nope' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });

    const dockerOnly = await ecr.send(new BatchGetImageCommand({ repositoryName: 'v2/pushed', imageIds: [{ imageTag: 'v1' }], acceptedMediaTypes: [DOCKER_MANIFEST] }));
    expect(dockerOnly.images).toEqual([]);
    expect(dockerOnly.failures![0]!.failureCode).toBe('ImageNotFound');
    const ociOk = await ecr.send(new BatchGetImageCommand({ repositoryName: 'v2/pushed', imageIds: [{ imageTag: 'v1' }], acceptedMediaTypes: [DOCKER_MANIFEST, OCI_MANIFEST] }));
    expect(ociOk.images).toHaveLength(1);

    // BatchGetImage is a pull: the pull time shows once the batched times are written.
    await server.wharf.registry.pulls.flush();
    const pulled = await ecr.send(new DescribeImagesCommand({ repositoryName: 'v2/pushed', imageIds: [{ imageTag: 'v1' }] }));
    expect(pulled.imageDetails![0]!.lastRecordedPullTime).toBeInstanceOf(Date);

    const missing = await failure(ecr.send(new DescribeImagesCommand({ repositoryName: 'v2/pushed', imageIds: [{ imageTag: 'v1' }, { imageTag: 'absent' }] })));
    expect(missing).toMatchObject({
      name: 'ImageNotFoundException',
      status: 400,
      message: `The image with imageId {imageDigest:'null', imageTag:'absent'} does not exist within the repository with name 'v2/pushed' in the registry with id '${registryId}'`,
    });
    expect((await failure(ecr.send(new DescribeImagesCommand({ repositoryName: 'v2/pushed', imageIds: [{ imageTag: 'v1' }], maxResults: 5 })))).name).toBe('InvalidParameterException');
    expect((await failure(ecr.send(new ListImagesCommand({ repositoryName: 'v2/absent' })))).message).toBe(
      `The repository with name 'v2/absent' does not exist in the registry with id '${registryId}'`,
    );
  });

  it('an image pushed with the layer operations and PutImage pulls through /v2, and GetDownloadUrlForLayer serves its layers', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'api/pushed' }));
    const image = makeImage([2_500_000, 10]);
    // Several parts for the big layer, larger than Fastify's default 1 MiB body limit.
    expect(await uploadLayer(ecr, 'api/pushed', image.layers[0]!, 2 * 1024 * 1024)).toBe(sha256(image.layers[0]!));
    const check = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'api/pushed', layerDigests: [sha256(image.layers[0]!), sha256(image.layers[1]!), 'sha256:zz'] }));
    expect(check.layers).toEqual([{ layerDigest: sha256(image.layers[0]!), layerAvailability: 'AVAILABLE', layerSize: 2_500_000 }]);
    expect(check.failures).toEqual([
      { layerDigest: 'sha256:zz', failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' },
      { layerDigest: sha256(image.layers[1]!), failureCode: 'MissingLayerDigest', failureReason: 'Could not find layer' },
    ]);

    const missingLayer = await failure(ecr.send(new PutImageCommand({ repositoryName: 'api/pushed', imageManifest: image.manifest.toString(), imageTag: 'v1' })));
    expect(missingLayer.name).toBe('LayersNotFoundException');
    const put = await putImage(ecr, 'api/pushed', image, 'v1');
    expect(put.image).toEqual({
      registryId,
      repositoryName: 'api/pushed',
      imageId: { imageDigest: image.digest, imageTag: 'v1' },
      imageManifest: image.manifest.toString(),
      imageManifestMediaType: OCI_MANIFEST,
    });
    const again = await failure(ecr.send(new PutImageCommand({ repositoryName: 'api/pushed', imageManifest: image.manifest.toString(), imageTag: 'v1' })));
    expect(again).toMatchObject({
      name: 'ImageAlreadyExistsException',
      message: `Image with digest '${image.digest}' and tag 'v1' already exists in the repository with name 'api/pushed' in registry with id '${registryId}'`,
    });
    // Re-tagging (the AWS CLI's documented way) works.
    const retag = await ecr.send(new PutImageCommand({ repositoryName: 'api/pushed', imageManifest: image.manifest.toString(), imageTag: 'stable' }));
    expect(retag.image!.imageId).toEqual({ imageDigest: image.digest, imageTag: 'stable' });
    const wrongDigest = await failure(
      ecr.send(new PutImageCommand({ repositoryName: 'api/pushed', imageManifest: image.manifest.toString(), imageTag: 'x', imageDigest: sha256('other') })),
    );
    expect(wrongDigest.name).toBe('ImageDigestDoesNotMatchException');
    expect((await failure(ecr.send(new PutImageCommand({ repositoryName: 'api/pushed', imageManifest: '{"schemaVersion": 2', imageTag: 'x' })))).name).toBe('InvalidParameterException');
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: sha256('no such child'), size: 13 }] });
    expect((await failure(ecr.send(new PutImageCommand({ repositoryName: 'api/pushed', imageManifest: index, imageTag: 'idx' })))).name).toBe('ReferencedImagesNotFoundException');
    expect((await failure(ecr.send(new PutImageCommand({ repositoryName: 'api/none', imageManifest: image.manifest.toString() })))).name).toBe('RepositoryNotFoundException');

    const manifest = await fetch(`${server.url}/v2/api/pushed/manifests/v1`, { headers: { authorization: admin, accept: OCI_MANIFEST } });
    expect(manifest.status).toBe(200);
    expect(Buffer.from(await manifest.arrayBuffer()).equals(image.manifest)).toBe(true);
    const layer = await fetch(`${server.url}/v2/api/pushed/blobs/${sha256(image.layers[0]!)}`, { headers: { authorization: admin } });
    expect(Buffer.from(await layer.arrayBuffer()).equals(image.layers[0]!)).toBe(true);

    const url = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'api/pushed', layerDigest: sha256(image.layers[0]!) }));
    expect(url.layerDigest).toBe(sha256(image.layers[0]!));
    expect(url.downloadUrl!.startsWith(`${server.url}/v2/api/pushed/blobs/${sha256(image.layers[0]!)}?token=`)).toBe(true);
    const download = await fetch(url.downloadUrl!);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(image.layers[0]!)).toBe(true);
    // The token reads that repository's blobs only, and nothing else.
    const token = new URL(url.downloadUrl!).searchParams.get('token')!;
    expect((await fetch(`${server.url}/v2/v2/pushed/blobs/${sha256(image.layers[0]!)}?token=${token}`)).status).toBe(401);
    expect((await fetch(`${server.url}/v2/api/pushed/manifests/v1?token=${token}`)).status).toBe(401);
    expect((await fetch(`${server.url}/v2/api/pushed/blobs/${sha256(image.layers[0]!)}?token=${token}x`)).status).toBe(401);
    expect((await failure(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'api/pushed', layerDigest: sha256('absent') })))).name).toBe('LayersNotFoundException');
  });

  it('layer uploads fail as ECR fails them', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'api/uploads' }));
    expect((await failure(ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'api/absent' })))).name).toBe('RepositoryNotFoundException');
    const { uploadId, partSize } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'api/uploads' }));
    expect(uploadId).toMatch(/^[0-9a-f-]{36}$/);
    expect(partSize).toBeGreaterThan(0);
    const bytes = Buffer.from('0123456789');
    await ecr.send(new UploadLayerPartCommand({ repositoryName: 'api/uploads', uploadId, partFirstByte: 0, partLastByte: 4, layerPartBlob: bytes.subarray(0, 5) }));
    const gap = await failure(ecr.send(new UploadLayerPartCommand({ repositoryName: 'api/uploads', uploadId, partFirstByte: 7, partLastByte: 9, layerPartBlob: bytes.subarray(7) })));
    expect(gap.name).toBe('InvalidLayerPartException');
    expect(gap.raw.lastValidByteReceived).toBe(4);
    expect(gap.raw.uploadId).toBe(uploadId);
    const unknown = await failure(
      ecr.send(new UploadLayerPartCommand({ repositoryName: 'api/uploads', uploadId: '00000000-0000-4000-8000-000000000000', partFirstByte: 0, partLastByte: 0, layerPartBlob: Buffer.from('x') })),
    );
    expect(unknown.name).toBe('UploadNotFoundException');
    const wrong = await failure(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'api/uploads', uploadId, layerDigests: [sha256('something else')] })));
    expect(wrong.name).toBe('InvalidLayerException');

    const empty = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'api/uploads' }));
    expect((await failure(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'api/uploads', uploadId: empty.uploadId, layerDigests: [sha256('')] })))).name).toBe(
      'EmptyUploadException',
    );
    await uploadLayer(ecr, 'api/uploads', bytes);
    const dup = await failure(uploadLayer(ecr, 'api/uploads', bytes));
    expect(dup.name).toBe('LayerAlreadyExistsException');
    expect((await failure(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'api/uploads', uploadId, layerDigests: ['not-a-digest'] })))).name).toBe('ValidationException');
    expect((await failure(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'api/uploads', uploadId, layerDigests: ['md5:abc'] })))).name).toBe('InvalidParameterException');
  });

  it('BatchDeleteImage deletes by digest and by tag and reports partial failures per image', async () => {
    const a = makeImage([10]);
    const b = makeImage([20]);
    for (const tag of ['a1', 'a2']) expect((await pushV2(server.url, 'del/images', a, tag))!.status).toBe(201);
    expect((await pushV2(server.url, 'del/images', b, 'b1'))!.status).toBe(201);

    const out = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'del/images',
        imageIds: [{ imageTag: 'a1' }, { imageDigest: b.digest }, { imageTag: 'missing' }, { imageDigest: 'sha256:bad' }, {}, { imageTag: 'a2', imageDigest: b.digest }],
      }),
    );
    expect(out.imageIds).toEqual([
      { imageDigest: a.digest, imageTag: 'a1' },
      { imageDigest: b.digest, imageTag: 'b1' },
    ]);
    expect(out.failures!.map((f) => [f.imageId, f.failureCode])).toEqual([
      [{ imageTag: 'missing' }, 'ImageNotFound'],
      [{ imageDigest: 'sha256:bad' }, 'InvalidImageDigest'],
      [{}, 'MissingDigestAndTag'],
      [{ imageTag: 'a2', imageDigest: b.digest }, 'ImageTagDoesNotMatchDigest'],
    ]);
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'del/images' }))).imageIds).toEqual([{ imageDigest: a.digest, imageTag: 'a2' }]);
    // Removing the last tag deletes the image, as in ECR.
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'del/images', imageIds: [{ imageTag: 'a2' }] }));
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'del/images' }))).imageIds).toEqual([]);
    expect((await fetch(`${server.url}/v2/del/images/manifests/${a.digest}`, { headers: { authorization: admin } })).status).toBe(404);

    // An index's child cannot be deleted by digest while the index exists.
    const child = makeImage([30]);
    expect((await pushV2(server.url, 'del/images', child))!.status).toBe(201);
    const indexBody = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.manifest.length }] }));
    const put = await fetch(`${server.url}/v2/del/images/manifests/multi`, { method: 'PUT', body: indexBody, headers: { authorization: admin, 'content-type': OCI_INDEX } });
    expect(put.status).toBe(201);
    const refused = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'del/images', imageIds: [{ imageDigest: child.digest }] }));
    expect(refused.failures![0]).toMatchObject({ failureCode: 'ImageReferencedByManifestList' });
    expect(refused.failures![0]!.failureReason).toContain(sha256(indexBody));
    // The index's size is its largest child image.
    const details = await ecr.send(new DescribeImagesCommand({ repositoryName: 'del/images', imageIds: [{ imageTag: 'multi' }] }));
    expect(details.imageDetails![0]).toMatchObject({ imageManifestMediaType: OCI_INDEX, imageSizeInBytes: child.config.length + 30 });
    expect((await failure(ecr.send(new BatchDeleteImageCommand({ repositoryName: 'del/absent', imageIds: [{ imageTag: 'x' }] })))).name).toBe('RepositoryNotFoundException');
  });

  it('immutable tags are enforced for PutImage and for /v2 pushes, under all four settings', async () => {
    const v2Put = (repo: string, image: PushedImage, tag: string) =>
      fetch(`${server.url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(image.manifest), headers: { authorization: admin, 'content-type': OCI_MANIFEST } });
    const [one, two] = [makeImage([11]), makeImage([12])];

    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'imm/all', imageTagMutability: 'IMMUTABLE' }));
    await putImage(ecr, 'imm/all', one, 'v1');
    const viaApi = await failure(putImage(ecr, 'imm/all', two, 'v1'));
    expect(viaApi).toMatchObject({
      name: 'ImageTagAlreadyExistsException',
      status: 400,
      message: "The image tag 'v1' already exists in the 'imm/all' repository and cannot be overwritten because the tag is immutable.",
    });
    const viaV2 = await v2Put('imm/all', two, 'v1');
    expect(viaV2.status).toBe(400);
    expect(await viaV2.json()).toEqual({
      errors: [{ code: 'TAG_INVALID', message: "The image tag 'v1' already exists in the 'imm/all' repository and cannot be overwritten because the tag is immutable.", detail: { tag: 'v1' } }],
    });
    // Nothing moved, nothing stored.
    const v1 = await ecr.send(new DescribeImagesCommand({ repositoryName: 'imm/all', imageIds: [{ imageTag: 'v1' }] }));
    expect(v1.imageDetails![0]!.imageDigest).toBe(one.digest);
    expect((await ecr.send(new ListImagesCommand({ repositoryName: 'imm/all' }))).imageIds).toEqual([{ imageDigest: one.digest, imageTag: 'v1' }]);
    // The same manifest again, and new tags, are fine.
    expect((await v2Put('imm/all', one, 'v1')).status).toBe(201);
    expect((await v2Put('imm/all', two, 'v2')).status).toBe(201);
    // Two pushes racing for a new immutable tag: exactly one wins.
    for (let i = 0; i < 3; i++) {
      const statuses = (await Promise.all([v2Put('imm/all', one, `race${i}`), v2Put('imm/all', two, `race${i}`)])).map((r) => r.status).sort();
      expect(statuses).toEqual([201, 400]);
    }

    const cases: [string, string, { tag: string; movable: boolean }[]][] = [
      ['imm/with-exclusion', 'IMMUTABLE_WITH_EXCLUSION', [{ tag: 'dev-1', movable: true }, { tag: 'v1', movable: false }, { tag: 'xdev-1', movable: false }]],
      ['imm/mutable-except', 'MUTABLE_WITH_EXCLUSION', [{ tag: 'dev-2', movable: false }, { tag: 'latest', movable: true }]],
    ];
    for (const [repo, mutability, tags] of cases) {
      await ecr.send(
        new CreateRepositoryCommand({ repositoryName: repo, imageTagMutability: mutability as never, imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }] }),
      );
      await pushV2(server.url, repo, one, undefined, { blobsOnly: true });
      await pushV2(server.url, repo, two, undefined, { blobsOnly: true });
      for (const { tag, movable } of tags) {
        expect((await v2Put(repo, one, tag)).status, `${repo}:${tag} first push`).toBe(201);
        expect((await v2Put(repo, two, tag)).status, `${repo}:${tag} moved by /v2`).toBe(movable ? 201 : 400);
      }
    }
    // An immutable tag cannot be deleted either (the next push could re-point it), by /v2 or by
    // BatchDeleteImage; an unknown tag is still unknown; deleting the image by digest is allowed.
    const v2Delete = (repo: string, ref: string) => fetch(`${server.url}/v2/${repo}/manifests/${ref}`, { method: 'DELETE', headers: { authorization: admin } });
    const refused = await v2Delete('imm/all', 'v1');
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      errors: [{ code: 'TAG_INVALID', message: "The image tag 'v1' in the 'imm/all' repository cannot be removed on its own because the tag is immutable. Delete the image by digest instead.", detail: { tag: 'v1' } }],
    });
    expect((await v2Delete('imm/all', 'never-pushed')).status).toBe(404);
    const batch = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'imm/all', imageIds: [{ imageTag: 'v1' }] }));
    expect(batch.imageIds).toEqual([]);
    expect(batch.failures).toEqual([
      { imageId: { imageTag: 'v1' }, failureCode: 'InvalidImageTag', failureReason: "The image tag 'v1' in the 'imm/all' repository cannot be removed on its own because the tag is immutable. Delete the image by digest instead." },
    ]);
    expect((await ecr.send(new DescribeImagesCommand({ repositoryName: 'imm/all', imageIds: [{ imageTag: 'v1' }] }))).imageDetails![0]!.imageDigest).toBe(one.digest);
    // By its last tag, the image goes with the tag: that is deleting the image, not moving the tag.
    const single = makeImage([13]);
    await putImage(ecr, 'imm/all', single, 'solo');
    const whole = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'imm/all', imageIds: [{ imageTag: 'solo' }] }));
    expect(whole).toMatchObject({ imageIds: [{ imageDigest: single.digest, imageTag: 'solo' }], failures: [] });
    expect((await v2Delete('imm/all', single.digest)).status).toBe(404);
    // Excluded tags of IMMUTABLE_WITH_EXCLUSION delete as usual.
    expect((await v2Delete('imm/with-exclusion', 'dev-1')).status).toBe(202);
    expect((await v2Delete('imm/with-exclusion', 'v1')).status).toBe(400);
    const byDigest = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'imm/all', imageIds: [{ imageDigest: two.digest }] }));
    expect(byDigest.failures).toEqual([]);
    expect(byDigest.imageIds!.map((i) => i.imageTag)).toContain('v2');
    expect(new Set(byDigest.imageIds!.map((i) => i.imageDigest))).toEqual(new Set([two.digest]));
    expect((await v2Delete('imm/all', two.digest)).status).toBe(404);

    // Back to MUTABLE: tags move again.
    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'imm/all', imageTagMutability: 'MUTABLE' }));
    expect((await v2Put('imm/all', two, 'v1')).status).toBe(201);
  });

  it('ListImages and DescribeImages page stably with maxResults and nextToken and refuse forged tokens', async () => {
    const images = Array.from({ length: 5 }, () => makeImage([5]));
    for (const [i, image] of images.entries()) expect((await pushV2(server.url, 'page/images', image, `t${i}`))!.status).toBe(201);
    expect((await pushV2(server.url, 'page/images', images[0]!, 'also-t0'))!.status).toBe(201);

    const listed: ImageIdentifier[] = [];
    let token: string | undefined;
    let round = 0;
    do {
      const page = await ecr.send(new ListImagesCommand({ repositoryName: 'page/images', maxResults: 2, ...(token ? { nextToken: token } : {}) }));
      listed.push(...page.imageIds!);
      token = page.nextToken;
      if (++round === 1) {
        // A push between pages lands after every earlier entry; nothing repeats or disappears.
        expect((await pushV2(server.url, 'page/images', makeImage([6]), 't9'))!.status).toBe(201);
      }
    } while (token);
    expect(listed.map((i) => i.imageTag)).toEqual(['also-t0', 't0', 't1', 't2', 't3', 't4', 't9']);

    const described: string[] = [];
    token = undefined;
    do {
      const page: DescribeImagesCommandOutput = await ecr.send(new DescribeImagesCommand({ repositoryName: 'page/images', maxResults: 4, ...(token ? { nextToken: token } : {}) }));
      described.push(...page.imageDetails!.map((d) => d.imageDigest!));
      token = page.nextToken;
    } while (token);
    expect(described).toHaveLength(6);
    expect(new Set(described).size).toBe(6);

    const first = (await ecr.send(new ListImagesCommand({ repositoryName: 'page/images', maxResults: 1 }))).nextToken!;
    // A token belongs to its request: another repository or filter, or another operation, refuses it.
    for (const cmd of [
      new ListImagesCommand({ repositoryName: 'v2/pushed', nextToken: first }),
      new ListImagesCommand({ repositoryName: 'page/images', nextToken: first, filter: { tagStatus: 'TAGGED' } }),
      new DescribeImagesCommand({ repositoryName: 'page/images', nextToken: first }),
      new ListImagesCommand({ repositoryName: 'page/images', nextToken: first.replace(/^./, (c) => (c === 'e' ? 'f' : 'e')) }),
    ]) {
      const bad = await failure(ecr.send(cmd as never));
      expect(bad).toMatchObject({ name: 'InvalidParameterException', message: "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'" });
    }
    expect((await failure(ecr.send(new ListImagesCommand({ repositoryName: 'page/images', maxResults: 0 })))).name).toBe('ValidationException');
  });

  it('ListImageReferrers lists the artifacts whose subject is an image', async () => {
    const subject = makeImage([40]);
    expect((await pushV2(server.url, 'ref/repo', subject, 'v1'))!.status).toBe(201);
    const empty = Buffer.from('{}');
    const mk = (artifactType: string) => {
      const doc = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 },
          layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 }],
          subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
          annotations: { kind: artifactType },
        }),
      );
      return doc;
    };
    await fetch(`${server.url}/v2/ref/repo/blobs/uploads/?digest=${sha256(empty)}`, { method: 'POST', body: empty, headers: { authorization: admin } });
    const sig = mk('application/vnd.example.signature');
    const sbom = mk('application/vnd.example.sbom');
    for (const doc of [sig, sbom]) {
      const res = await fetch(`${server.url}/v2/ref/repo/manifests/${sha256(doc)}`, { method: 'PUT', body: doc, headers: { authorization: admin, 'content-type': OCI_MANIFEST } });
      expect(res.status).toBe(201);
    }
    const all = await ecr.send(new ListImageReferrersCommand({ repositoryName: 'ref/repo', subjectId: { imageDigest: subject.digest } }));
    expect(all.referrers!.map((r) => r.digest)).toEqual([sha256(sig), sha256(sbom)].sort());
    expect(all.referrers!.find((r) => r.digest === sha256(sig))).toEqual({
      digest: sha256(sig),
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.example.signature',
      size: sig.length,
      annotations: { kind: 'application/vnd.example.signature' },
      artifactStatus: 'ACTIVE',
    });
    const filtered = await ecr.send(
      new ListImageReferrersCommand({ repositoryName: 'ref/repo', subjectId: { imageDigest: subject.digest }, filter: { artifactTypes: ['application/vnd.example.sbom'] } }),
    );
    expect(filtered.referrers!.map((r) => r.digest)).toEqual([sha256(sbom)]);
    const page1 = await ecr.send(new ListImageReferrersCommand({ repositoryName: 'ref/repo', subjectId: { imageDigest: subject.digest }, maxResults: 1 }));
    expect(page1.referrers).toHaveLength(1);
    const page2 = await ecr.send(new ListImageReferrersCommand({ repositoryName: 'ref/repo', subjectId: { imageDigest: subject.digest }, maxResults: 1, nextToken: page1.nextToken! }));
    expect(page2.referrers).toHaveLength(1);
    expect(page2.nextToken).toBeUndefined();
    expect([page1.referrers![0]!.digest, page2.referrers![0]!.digest]).toEqual(all.referrers!.map((r) => r.digest));
  });

  it('the same policies decide the ECR API and /v2', async () => {
    const image = makeImage([50]);
    expect((await pushV2(server.url, 'authz/repo', image, 'v1'))!.status).toBe(201);
    const puller = await createUserWithKey(server, 'ecr-puller', {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: 'arn:aws:ecr:*:*:repository/authz/*' }],
    });
    const client = ecrClient(server, puller);
    expect((await client.send(new BatchGetImageCommand({ repositoryName: 'authz/repo', imageIds: [{ imageTag: 'v1' }] }))).images).toHaveLength(1);
    expect((await failure(client.send(new ListImagesCommand({ repositoryName: 'authz/repo' })))).name).toBe('AccessDeniedException');
    const push = await failure(client.send(new PutImageCommand({ repositoryName: 'authz/repo', imageManifest: image.manifest.toString(), imageTag: 'v2' })));
    expect(push.message).toContain('ecr:PutImage');
    const pullerBasic = basic(puller.accessKeyId, puller.secret);
    expect((await fetch(`${server.url}/v2/authz/repo/manifests/v1`, { headers: { authorization: pullerBasic } })).status).toBe(200);
    expect((await fetch(`${server.url}/v2/authz/repo/tags/list`, { headers: { authorization: pullerBasic } })).status).toBe(403);
    // A download URL is checked against live policies when used, not only when issued.
    const url = (await client.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'authz/repo', layerDigest: sha256(image.layers[0]!) }))).downloadUrl!;
    expect((await fetch(url)).status).toBe(200);
    await server.wharf.access!.identity.setRepositoryPolicy(
      'authz/repo',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ecr:GetDownloadUrlForLayer' }] }),
    );
    server.wharf.access!.invalidate();
    expect((await fetch(url)).status).toBe(403);
    await server.wharf.access!.identity.setRepositoryPolicy('authz/repo', null);
    server.wharf.access!.invalidate();
  });
});

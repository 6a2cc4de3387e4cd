// end-12a/12b: GET /v2/<name>/referrers/<digest>[?artifactType=]. The reference registry 2.8.2
// has no referrers API, so the whole file is skipped against it.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  EMPTY_JSON,
  MALFORMED_DIGESTS,
  MT,
  artifactManifest,
  expectOciError,
  expectStatus,
  isReference,
  layer,
  ociConfig,
  ociIndex,
  ociManifest,
  repoName,
  testDatabases,
  unknownDigest,
  useRegistry,
  type Content,
  type Descriptor,
  type OciClient,
} from '../helpers/oci.js';

interface ReferrersIndex {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

async function getReferrers(c: OciClient, repo: string, digest: string, query = ''): Promise<{ res: Response; index: ReferrersIndex }> {
  const res = await c.fetch(`/v2/${repo}/referrers/${digest}${query}`);
  const body = await expectStatus(res, 200);
  expect(res.headers.get('content-type')).toBe(MT.ociIndex);
  const index = JSON.parse(body.toString('utf8')) as ReferrersIndex;
  expect(index.schemaVersion).toBe(2);
  expect(index.mediaType).toBe(MT.ociIndex);
  expect(Array.isArray(index.manifests)).toBe(true);
  return { res, index };
}

function byDigest(list: Descriptor[]): Map<string, Descriptor> {
  return new Map(list.map((d) => [d.digest, d]));
}

describe.skipIf(isReference).each(testDatabases())('referrers API on %s', (database) => {
  const r = useRegistry(database);

  describe('listing', () => {
    const repo = repoName('refs');
    let subject: Content;
    /** referrers of subject, with the descriptor the API must list for each */
    const expected: Array<{ m: Content; descriptor: Descriptor }> = [];
    let unrelated: Content;

    beforeAll(async () => {
      subject = (await r.c.pushImage(repo, 'v1')).manifest;
      const payload = layer(50, 'application/vnd.example.sbom.payload');
      await r.c.pushContent(repo, EMPTY_JSON, payload);

      // 1. artifactType set, annotations
      const sbom = artifactManifest({
        artifactType: 'application/vnd.example.sbom.v1',
        subject: subject.descriptor(),
        layers: [payload.descriptor()],
        annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.format': 'json' },
      });
      // 2. no artifactType: config.mediaType stands in
      const sig = artifactManifest({
        configMediaType: 'application/vnd.example.signature.config.v1+json',
        subject: subject.descriptor(),
        annotations: { 'org.example.fingerprint': 'abcd' },
      });
      // 3. an index with artifactType
      const idxTyped = ociIndex({
        manifests: [subject.descriptor()],
        subject: subject.descriptor(),
        artifactType: 'application/vnd.example.bundle.v1',
        annotations: { 'org.example.kind': 'bundle' },
      });
      // 4. an index without artifactType: artifactType omitted
      const idxPlain = ociIndex({ manifests: [subject.descriptor()], subject: subject.descriptor() });
      // 5. a second one of type 1 (filtering returns both)
      const sbom2 = artifactManifest({
        artifactType: 'application/vnd.example.sbom.v1',
        subject: subject.descriptor(),
        annotations: { 'org.example.format': 'spdx' },
      });

      for (const m of [sbom, sig, idxTyped, idxPlain, sbom2]) {
        const res = await r.c.pushManifest(repo, m);
        expect(res.headers.get('oci-subject')).toBe(subject.digest);
      }
      expected.push(
        { m: sbom, descriptor: sbom.descriptor({ artifactType: 'application/vnd.example.sbom.v1', annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.format': 'json' } }) },
        { m: sig, descriptor: sig.descriptor({ artifactType: 'application/vnd.example.signature.config.v1+json', annotations: { 'org.example.fingerprint': 'abcd' } }) },
        { m: idxTyped, descriptor: idxTyped.descriptor({ artifactType: 'application/vnd.example.bundle.v1', annotations: { 'org.example.kind': 'bundle' } }) },
        { m: idxPlain, descriptor: idxPlain.descriptor() },
        { m: sbom2, descriptor: sbom2.descriptor({ artifactType: 'application/vnd.example.sbom.v1', annotations: { 'org.example.format': 'spdx' } }) },
      );

      // a referrer of something else, tagged, plus the subject's own tag: neither is listed
      const other = (await r.c.pushImage(repo, 'other')).manifest;
      unrelated = artifactManifest({ artifactType: 'application/vnd.example.sbom.v1', subject: other.descriptor() });
      await r.c.pushManifest(repo, unrelated, 'unrelated-tag');
    });

    it('lists every manifest whose subject is the digest, as an OCI image index', async () => {
      const { index } = await getReferrers(r.c, repo, subject.digest);
      expect(index.manifests).toHaveLength(expected.length);
      const got = byDigest(index.manifests);
      for (const { descriptor } of expected) {
        const d = got.get(descriptor.digest);
        expect(d, descriptor.digest).toBeDefined();
        expect(d?.mediaType).toBe(descriptor.mediaType);
        expect(d?.size).toBe(descriptor.size);
        expect(d?.artifactType).toBe(descriptor.artifactType);
        expect(d?.annotations ?? {}).toEqual(descriptor.annotations ?? {});
      }
      expect(got.has(unrelated.digest)).toBe(false);
      expect(got.has(subject.digest)).toBe(false);
    });

    it('an index referrer without artifactType has no artifactType in its descriptor', async () => {
      const { index } = await getReferrers(r.c, repo, subject.digest);
      const plain = expected[3]!;
      const d = byDigest(index.manifests).get(plain.m.digest);
      expect(d).toBeDefined();
      expect(d).not.toHaveProperty('artifactType');
      expect(d?.mediaType).toBe(MT.ociIndex);
    });

    it('?artifactType= filters and answers OCI-Filters-Applied: artifactType', async () => {
      const { res, index } = await getReferrers(r.c, repo, subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.sbom.v1')}`);
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(index.manifests.map((d) => d.digest).sort()).toEqual([expected[0]!.m.digest, expected[4]!.m.digest].sort());
      for (const d of index.manifests) expect(d.artifactType).toBe('application/vnd.example.sbom.v1');
    });

    it('?artifactType= matches the config.mediaType stand-in too', async () => {
      const { res, index } = await getReferrers(r.c, repo, subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.signature.config.v1+json')}`);
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(index.manifests.map((d) => d.digest)).toEqual([expected[1]!.m.digest]);
    });

    it('?artifactType= with no match: 200, empty manifests, filter header', async () => {
      const { res, index } = await getReferrers(r.c, repo, subject.digest, '?artifactType=application%2Fvnd.example.nothing');
      expect(res.headers.get('oci-filters-applied')).toBe('artifactType');
      expect(index.manifests).toEqual([]);
    });

    it('without a filter there is no OCI-Filters-Applied header', async () => {
      const { res } = await getReferrers(r.c, repo, subject.digest);
      expect(res.headers.get('oci-filters-applied')).toBeNull();
    });

    it('unknown subject: 200 with manifests: []', async () => {
      const { index } = await getReferrers(r.c, repo, unknownDigest());
      expect(index.manifests).toEqual([]);
    });

    it('a blob digest (no manifest refers to it): 200 with manifests: []', async () => {
      const { index } = await getReferrers(r.c, repo, EMPTY_JSON.digest);
      expect(index.manifests).toEqual([]);
    });

    it('referrers are scoped to the repository', async () => {
      const other = repoName('refs-other');
      await r.c.pushImage(other, 'v1');
      const { index } = await getReferrers(r.c, other, subject.digest);
      expect(index.manifests).toEqual([]);
    });

    it.each(MALFORMED_DIGESTS)('malformed digest %s: 400 DIGEST_INVALID', async (bad) => {
      await expectOciError(await r.c.fetch(`/v2/${repo}/referrers/${bad}`), 400, 'DIGEST_INVALID');
    });
  });

  it('a repository that does not exist: 200 with manifests: [] (never 404, which means "no referrers API")', async () => {
    const { index } = await getReferrers(r.c, repoName('refs-nosuch'), unknownDigest());
    expect(index.manifests).toEqual([]);
  });

  it('a referrer pushed before its subject is accepted and listed, before and after the subject arrives', async () => {
    const repo = repoName('refs-early');
    const config = ociConfig();
    const l = layer(100);
    await r.c.pushContent(repo, EMPTY_JSON, config, l);
    const subject = ociManifest({ config: config.descriptor(), layers: [l.descriptor()] });
    const art = artifactManifest({ artifactType: 'application/vnd.example.sig', subject: subject.descriptor() });

    const res = await r.c.putManifest(repo, art.digest, art.bytes, art.mediaType);
    await expectStatus(res, 201);
    expect(res.headers.get('oci-subject')).toBe(subject.digest);
    let { index } = await getReferrers(r.c, repo, subject.digest);
    expect(index.manifests.map((d) => d.digest)).toEqual([art.digest]);

    await r.c.pushManifest(repo, subject, 'v1');
    ({ index } = await getReferrers(r.c, repo, subject.digest));
    expect(index.manifests.map((d) => d.digest)).toEqual([art.digest]);
    expect(index.manifests[0]?.artifactType).toBe('application/vnd.example.sig');
  });

  it('deleting a referrer removes it from the list', async () => {
    const repo = repoName('refs-del');
    const subject = (await r.c.pushImage(repo, 'v1')).manifest;
    await r.c.pushContent(repo, EMPTY_JSON);
    const a = artifactManifest({ artifactType: 'application/vnd.example.a', subject: subject.descriptor() });
    const b = artifactManifest({ artifactType: 'application/vnd.example.b', subject: subject.descriptor() });
    await r.c.pushManifest(repo, a);
    await r.c.pushManifest(repo, b);
    expect((await getReferrers(r.c, repo, subject.digest)).index.manifests).toHaveLength(2);
    await expectStatus(await r.c.deleteManifest(repo, a.digest), 202);
    const { index } = await getReferrers(r.c, repo, subject.digest);
    expect(index.manifests.map((d) => d.digest)).toEqual([b.digest]);
  });

  it('a referrer pushed by tag is listed as well', async () => {
    const repo = repoName('refs-tag');
    const subject = (await r.c.pushImage(repo, 'v1')).manifest;
    await r.c.pushContent(repo, EMPTY_JSON);
    const a = artifactManifest({ artifactType: 'application/vnd.example.a', subject: subject.descriptor() });
    const res = await r.c.pushManifest(repo, a, 'sig');
    expect(res.headers.get('oci-subject')).toBe(subject.digest);
    const { index } = await getReferrers(r.c, repo, subject.digest);
    expect(index.manifests.map((d) => d.digest)).toEqual([a.digest]);
  });

  it('a referrer of a sha512 subject is listed under that digest', async () => {
    const repo = repoName('refs-512');
    await r.c.pushContent(repo, EMPTY_JSON);
    const subjectDigest = `sha512:${'ab'.repeat(64)}`;
    const a = artifactManifest({
      artifactType: 'application/vnd.example.a',
      subject: { mediaType: MT.ociManifest, digest: subjectDigest, size: 321 },
    });
    const res = await r.c.pushManifest(repo, a);
    expect(res.headers.get('oci-subject')).toBe(subjectDigest);
    const { index } = await getReferrers(r.c, repo, subjectDigest);
    expect(index.manifests.map((d) => d.digest)).toEqual([a.digest]);
  });
});

// Repository names (valid and invalid) and path traversal through names, tags, digests and
// upload ids. Traversal requests go out through node:http so the path is sent unnormalised.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectNothingNamed,
  expectOciError,
  expectStatus,
  findPaths,
  isReference,
  ociConfig,
  ociManifest,
  randomBlob,
  rawRequest,
  sha256,
  testDatabases,
  uid,
  useRegistry,
  type OciClient,
  type RawResponse,
} from '../helpers/oci.js';

/** Asserts an error that is either 400 NAME_INVALID or 404 NAME_UNKNOWN (reads, where the spec leaves it open). */
async function expectNameRejectedOnRead(res: Response): Promise<void> {
  if (res.status === 400) await expectOciError(res, 400, 'NAME_INVALID');
  else await expectOciError(res, 404, 'NAME_UNKNOWN');
}

async function catalogWith(c: OciClient, token: string): Promise<string[]> {
  return (await c.allRepositories()).filter((n) => n.includes(token));
}

describe.each(testDatabases())('repository names on %s', (database) => {
  const r = useRegistry(database);

  describe('valid names', () => {
    const tok = uid(6);
    const names = [
      `n${tok}/a/b/c`,
      `n${tok}.dots.x`,
      `n${tok}_under_score`,
      `n${tok}__double`,
      `n${tok}-dash`,
      `n${tok}--dashes---x`,
      `n${tok}/x.y_z__w-v/q--r/0`,
      // 255 characters in 5 components
      `n${tok}${'a'.repeat(50 - 1 - tok.length)}/${'b'.repeat(50)}/${'c'.repeat(50)}/${'d'.repeat(50)}/${'e'.repeat(51)}`,
    ];

    it('the 255-character name is 255 characters', () => {
      expect(names[names.length - 1]).toHaveLength(255);
    });

    it.each(names)('%s: push, pull, tags/list and catalog', async (name) => {
      const image = await r.c.pushImage(name, 'v1');
      const res = await r.c.getManifest(name, 'v1');
      expect((await expectStatus(res, 200)).equals(image.manifest.bytes)).toBe(true);
      const blob = await r.c.getBlob(name, image.layers[0]!.digest);
      expect((await expectStatus(blob, 200)).equals(image.layers[0]!.bytes)).toBe(true);
      const tags = await r.c.tagsList(name);
      const doc = JSON.parse((await expectStatus(tags, 200)).toString()) as { name: string; tags: string[] };
      expect(doc).toEqual({ name, tags: ['v1'] });
      expect(await r.c.allRepositories()).toContain(name);
    });

    it('a nested name and its parent are separate repositories', async () => {
      const parent = `p${uid(6)}`;
      const child = `${parent}/child`;
      const a = await r.c.pushImage(parent, 'v1');
      const b = await r.c.pushImage(child, 'v1');
      expect((await expectStatus(await r.c.getManifest(parent, 'v1'), 200)).equals(a.manifest.bytes)).toBe(true);
      expect((await expectStatus(await r.c.getManifest(child, 'v1'), 200)).equals(b.manifest.bytes)).toBe(true);
      await expectOciError(await r.c.getManifest(parent, b.manifest.digest), 404, 'MANIFEST_UNKNOWN');
      await expectOciError(await r.c.getBlob(child, a.layers[0]!.digest), 404, 'BLOB_UNKNOWN');
    });
  });

  describe.skipIf(isReference)('invalid names', () => {
    // reference 2.8.2: its router 404s some of these with a plain-text body, accepts others
    // (upper case, %2F decoded to a slash) and answers 500 to a 256-character component
    const tok = uid(8);
    const INVALID: Array<[string, string]> = [
      ['upper case', `Up${tok}/x`],
      ['upper case in a later component', `lo${tok}/Xy`],
      ['double dot', `a${tok}..b`],
      ['leading dash', `-${tok}`],
      ['leading dot', `.${tok}`],
      ['leading underscore', `_${tok}`],
      ['trailing separator', `${tok}-`],
      ['triple underscore', `a${tok}___b`],
      ['dot dash', `a${tok}.-b`],
      ['empty component (a//b)', `a${tok}//b`],
      ['component with a leading dash', `a${tok}/-x`],
      ['%2F-encoded slash', `a${tok}%2Fb`],
      ['non-ASCII', `caf%C3%A9${tok}`],
      ['256 characters', `a${tok}${'a'.repeat(49 - tok.length)}/${'b'.repeat(50)}/${'c'.repeat(50)}/${'d'.repeat(50)}/${'e'.repeat(52)}`],
      ['300 characters in one component', `a${tok}${'z'.repeat(299 - tok.length)}`],
    ];

    let body: Buffer;
    beforeAll(() => {
      body = ociManifest({ config: ociConfig().descriptor() }).bytes;
    });

    it('the 256-character name is 256 characters', () => {
      expect(INVALID.find(([k]) => k === '256 characters')?.[1]).toHaveLength(256);
    });

    it.each(INVALID)('%s: writes answer 400 NAME_INVALID', async (_kind, name) => {
      const data = randomBlob(20);
      await expectOciError(await r.c.fetch(`/v2/${name}/blobs/uploads/`, { method: 'POST' }), 400, 'NAME_INVALID');
      await expectOciError(await r.c.fetch(`/v2/${name}/blobs/uploads/?digest=${sha256(data)}`, { method: 'POST', body: data }), 400, 'NAME_INVALID');
      await expectOciError(await r.c.fetch(`/v2/${name}/manifests/latest`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body,
      }), 400, 'NAME_INVALID');
      await expectOciError(await r.c.fetch(`/v2/${name}/blobs/uploads/?mount=${sha256(data)}&from=library%2Fx`, { method: 'POST' }), 400, 'NAME_INVALID');
    });

    it.each(INVALID)('%s: reads answer 400 NAME_INVALID or 404 NAME_UNKNOWN', async (_kind, name) => {
      await expectNameRejectedOnRead(await r.c.fetch(`/v2/${name}/tags/list`));
      await expectNameRejectedOnRead(await r.c.fetch(`/v2/${name}/manifests/latest`));
      await expectNameRejectedOnRead(await r.c.fetch(`/v2/${name}/blobs/${sha256('x')}`));
      const head = await r.c.fetch(`/v2/${name}/blobs/${sha256('x')}`, { method: 'HEAD' });
      expect([400, 404]).toContain(head.status);
      await head.arrayBuffer();
    });

    it('nothing was stored for any invalid name', async () => {
      expect(await catalogWith(r.c, tok)).toEqual([]);
      expect(await findPaths(r.reg.dataDir, tok)).toEqual([]);
    });
  });

  describe('path traversal', () => {
    const escTok = `esc${uid(8)}`;
    const secret = `secret-${uid(16)}`;
    const good = `trav-${uid(6)}`;
    let sentinelDir: string;
    let sentinel: string;
    const responses: Array<{ what: string; res: RawResponse }> = [];

    beforeAll(async () => {
      sentinelDir = await mkdtemp(join(tmpdir(), 'wharf-sentinel-'));
      sentinel = join(sentinelDir, `sentinel-${uid(6)}`);
      await writeFile(sentinel, secret);
      await r.c.pushImage(good, 'v1');

      const manifest = ociManifest({ config: ociConfig().descriptor() }).bytes;
      const bytes = Buffer.from('escaped bytes');
      const styles = [
        { dot: '..', slash: '/' },
        { dot: '%2e%2e', slash: '/' },
        { dot: '..', slash: '%2F' },
        { dot: '%2E%2E', slash: '%2f' },
      ];
      for (const { dot, slash } of styles) {
        const up = (n: number): string => `${dot}${slash}`.repeat(n);
        const abs = (p: string): string => up(20) + p.split('/').filter(Boolean).map(encodeURIComponent).join(slash);
        const writeTargets = [1, 2, 3, 4, 6].map((n) => `${up(n)}${escTok}`).concat(abs(join(sentinelDir, escTok)));
        const readTargets = [abs(sentinel), `${up(3)}${escTok}`];

        const cases: Array<[string, string, Buffer | undefined]> = [];
        for (const t of writeTargets) {
          cases.push(['POST', `/v2/${t}/blobs/uploads/`, undefined]);
          cases.push(['POST', `/v2/${t}/blobs/uploads/?digest=${sha256(bytes)}`, bytes]);
          cases.push(['PUT', `/v2/${t}/manifests/latest`, manifest]);
          cases.push(['PUT', `/v2/${good}/manifests/${t}`, manifest]);
          cases.push(['PATCH', `/v2/${good}/blobs/uploads/${t}`, bytes]);
          cases.push(['PUT', `/v2/${good}/blobs/uploads/${t}?digest=${sha256(bytes)}`, bytes]);
        }
        for (const t of readTargets) {
          cases.push(['GET', `/v2/${good}/blobs/${t}`, undefined]);
          cases.push(['GET', `/v2/${good}/blobs/sha256:${t}`, undefined]);
          cases.push(['HEAD', `/v2/${good}/blobs/sha256:${t}`, undefined]);
          cases.push(['GET', `/v2/${good}/manifests/${t}`, undefined]);
          cases.push(['GET', `/v2/${good}/manifests/sha256:${t}`, undefined]);
          cases.push(['GET', `/v2/${good}/blobs/uploads/${t}`, undefined]);
          cases.push(['GET', `/v2/${t}/tags/list`, undefined]);
          cases.push(['GET', `/v2/${good}/referrers/sha256:${t}`, undefined]);
          cases.push(['DELETE', `/v2/${good}/blobs/sha256:${t}`, undefined]);
          cases.push(['DELETE', `/v2/${good}/manifests/${t}`, undefined]);
          cases.push(['DELETE', `/v2/${good}/manifests/sha256:${t}`, undefined]);
          cases.push(['DELETE', `/v2/${good}/blobs/uploads/${t}`, undefined]);
        }
        for (const [method, path, body] of cases) {
          const headers: Record<string, string> = body
            ? { 'content-type': path.includes('/manifests/') ? 'application/vnd.oci.image.manifest.v1+json' : 'application/octet-stream' }
            : {};
          const res = await rawRequest(r.reg, method, path, { headers, ...(body ? { body } : {}) });
          responses.push({ what: `${method} ${path}`, res });
        }
      }
    });

    afterAll(async () => {
      if (sentinelDir) await rm(sentinelDir, { recursive: true, force: true });
    });

    it('no traversal request succeeds or fails with a server error', () => {
      if (process.env.DEBUG_TRAVERSAL) for (const { what, res } of responses) console.log(res.status, what.slice(0, 160));
      expect(responses.length).toBeGreaterThan(100);
      const bad = responses.filter(({ res }) => res.status < 300 || res.status >= 500).map(({ what, res }) => `${res.status} ${what}`);
      expect(bad).toEqual([]);
    });

    it('no response leaks the content of a file outside the registry', () => {
      const leaks = responses.filter(({ res }) => res.body.toString('latin1').includes(secret)).map(({ what }) => what);
      expect(leaks).toEqual([]);
    });

    it('nothing was written or deleted outside the registry, nor stored inside it', async () => {
      expect(await readFile(sentinel, 'utf8')).toBe(secret);
      expect(await findPaths(sentinelDir, escTok)).toEqual([]);
      await expectNothingNamed(r.reg, escTok);
      expect(await catalogWith(r.c, escTok)).toEqual([]);
      // the repository used as a base is untouched
      const tags = JSON.parse((await expectStatus(await r.c.tagsList(good), 200)).toString()) as { tags: string[] };
      expect(tags.tags).toEqual(['v1']);
    });

    it.skipIf(isReference)('traversal attempts answer 400 or 404 with an OCI error body', () => {
      // reference 2.8.2 answers 301 redirects to the cleaned path
      const bad: string[] = [];
      for (const { what, res } of responses) {
        if (res.status !== 400 && res.status !== 404) {
          bad.push(`${res.status} ${what}`);
          continue;
        }
        if (what.startsWith('HEAD ')) continue;
        try {
          const doc = JSON.parse(res.body.toString('utf8')) as { errors?: Array<{ code?: unknown }> };
          if (!String(res.headers['content-type']).startsWith('application/json') || !Array.isArray(doc.errors) || typeof doc.errors[0]?.code !== 'string') {
            bad.push(`bad error body: ${what}`);
          }
        } catch {
          bad.push(`non-JSON error body: ${what}`);
        }
      }
      expect(bad).toEqual([]);
    });

    it('mount from a traversal name never mounts anything', async () => {
      const data = randomBlob(30);
      const digest = sha256(data);
      const target = `mnt-${uid(6)}`;
      for (const from of [`..%2F..%2F${escTok}`, `${good}%2F..%2F..%2F${escTok}`, `%2e%2e/${escTok}`]) {
        const res = await rawRequest(r.reg, 'POST', `/v2/${target}/blobs/uploads/?mount=${digest}&from=${from}`);
        expect([202, 400, 404]).toContain(res.status);
      }
      expect(await r.c.blobExists(target, digest)).toBe(false);
      await expectNothingNamed(r.reg, escTok);
    });
  });
});

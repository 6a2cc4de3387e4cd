// end-8a/8b (tags list, n/last pagination, Link) and GET /v2/_catalog.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectOciError,
  expectStatus,
  isReference,
  nextLink,
  ociConfig,
  ociManifest,
  repoName,
  testDatabases,
  uid,
  useRegistry,
  type Content,
  type OciClient,
} from '../helpers/oci.js';

interface TagList {
  name: string;
  tags: string[] | null;
}

async function tagsPage(c: OciClient, pathOrUrl: string): Promise<{ res: Response; doc: TagList }> {
  const res = await c.fetch(pathOrUrl);
  const body = await expectStatus(res, 200);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json\b/);
  return { res, doc: JSON.parse(body.toString('utf8')) as TagList };
}

async function catalogPage(c: OciClient, pathOrUrl: string): Promise<{ res: Response; repositories: string[] }> {
  const res = await c.fetch(pathOrUrl);
  const body = await expectStatus(res, 200);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json\b/);
  const doc = JSON.parse(body.toString('utf8')) as { repositories: string[] | null };
  return { res, repositories: doc.repositories ?? [] };
}

/** ASCII order (Go's sort.Strings) */
function asciiSorted(list: string[]): string[] {
  return [...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Pushes one small manifest under every tag in `tags` (in the order given). */
async function pushTags(c: OciClient, repo: string, tags: string[]): Promise<Content> {
  const config = ociConfig();
  await c.pushContent(repo, config);
  const m = ociManifest({ config: config.descriptor() });
  for (const tag of tags) await c.pushManifest(repo, m, tag);
  return m;
}

function shuffled<T>(list: T[]): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe.each(testDatabases())('listing on %s', (database) => {
  const r = useRegistry(database);

  describe('tags', () => {
    const repo = repoName('tags');
    // lower case only, so case-insensitive and ASCII orders agree
    const TAGS = ['1.0', '1.1', '2.0', 'alpha', 'beta', 'latest', 'v1', 'v1.0-rc_1', 'v10', 'v2'];

    beforeAll(async () => {
      await pushTags(r.c, repo, shuffled(TAGS));
    });

    it('GET tags/list: 200 with the repository name and every tag', async () => {
      const { doc } = await tagsPage(r.c, `/v2/${repo}/tags/list`);
      expect(doc.name).toBe(repo);
      expect([...(doc.tags ?? [])].sort()).toEqual([...TAGS].sort());
    });

    it.skipIf(isReference)('tags are lexically sorted', async () => {
      // reference 2.8.2 lists tags in directory order
      const { doc } = await tagsPage(r.c, `/v2/${repo}/tags/list`);
      expect(doc.tags).toEqual(asciiSorted(TAGS));
    });

    it.skipIf(isReference)('mixed-case tags come back in lexical or ASCII order', async () => {
      const repo2 = repoName('tags-case');
      const tags = ['B', 'a', 'C', 'b', 'A', 'c', '_x', '0'];
      await pushTags(r.c, repo2, tags);
      const { doc } = await tagsPage(r.c, `/v2/${repo2}/tags/list`);
      const ascii = asciiSorted(tags);
      const caseInsensitive = [...tags].sort((x, y) => {
        const a = x.toLowerCase();
        const b = y.toLowerCase();
        return a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0;
      });
      expect([JSON.stringify(ascii), JSON.stringify(caseInsensitive)]).toContain(JSON.stringify(doc.tags));
    });

    it.skipIf(isReference)('?n= pages with Link: </v2/<name>/tags/list?n=N&last=X>; rel="next" while more remain', async () => {
      // reference 2.8.2 ignores n and last on tags/list
      const sorted = asciiSorted(TAGS);
      const seen: string[] = [];
      let url: string | null = `/v2/${repo}/tags/list?n=3`;
      let pages = 0;
      while (url) {
        const { res, doc } = await tagsPage(r.c, url);
        pages++;
        const page = doc.tags ?? [];
        seen.push(...page);
        const link = nextLink(res, r.c.base);
        if (seen.length < sorted.length) {
          expect(page).toHaveLength(3);
          expect(link, `page ${pages} must link to the next`).not.toBeNull();
          expect(link?.pathname).toBe(`/v2/${repo}/tags/list`);
          expect(link?.searchParams.get('n')).toBe('3');
          expect(link?.searchParams.get('last')).toBe(page[page.length - 1]);
        } else {
          expect(link, 'the last page has no Link').toBeNull();
        }
        url = link?.toString() ?? null;
        expect(pages).toBeLessThanOrEqual(10);
      }
      expect(seen).toEqual(sorted);
      expect(pages).toBe(4);
    });

    it.skipIf(isReference)('a last page that ends exactly at n has no Link', async () => {
      const sorted = asciiSorted(TAGS);
      const { res, doc } = await tagsPage(r.c, `/v2/${repo}/tags/list?n=5&last=${sorted[4]}`);
      expect(doc.tags).toEqual(sorted.slice(5));
      expect(res.headers.get('link')).toBeNull();
    });

    it.skipIf(isReference)('?n=&last= returns up to n tags after last', async () => {
      const sorted = asciiSorted(TAGS);
      const { doc } = await tagsPage(r.c, `/v2/${repo}/tags/list?n=2&last=alpha`);
      const i = sorted.indexOf('alpha');
      expect(doc.tags).toEqual(sorted.slice(i + 1, i + 3));
    });

    it.skipIf(isReference)('?last= without n returns every tag after last', async () => {
      const sorted = asciiSorted(TAGS);
      const { doc } = await tagsPage(r.c, `/v2/${repo}/tags/list?last=beta`);
      expect(doc.tags).toEqual(sorted.slice(sorted.indexOf('beta') + 1));
    });

    it.skipIf(isReference)('?last= with a value that is not a tag starts after where it would sort', async () => {
      const sorted = asciiSorted(TAGS);
      const { doc } = await tagsPage(r.c, `/v2/${repo}/tags/list?last=b`);
      expect(doc.tags).toEqual(sorted.filter((t) => t > 'b'));
    });

    it.skipIf(isReference)('?last= after the final tag: empty list, no Link', async () => {
      const { res, doc } = await tagsPage(r.c, `/v2/${repo}/tags/list?n=5&last=zzz`);
      expect(doc.tags ?? []).toEqual([]);
      expect(res.headers.get('link')).toBeNull();
    });

    it.skipIf(isReference)('?n=0: empty list and no Link', async () => {
      const { res, doc } = await tagsPage(r.c, `/v2/${repo}/tags/list?n=0`);
      expect(doc.name).toBe(repo);
      expect(doc.tags ?? []).toEqual([]);
      expect(res.headers.get('link')).toBeNull();
    });

    it('?n= larger than the number of tags: all of them, no Link', async () => {
      const { res, doc } = await tagsPage(r.c, `/v2/${repo}/tags/list?n=1000`);
      expect([...(doc.tags ?? [])].sort()).toEqual([...TAGS].sort());
      expect(res.headers.get('link')).toBeNull();
    });

    it('unknown repository: 404 NAME_UNKNOWN', async () => {
      await expectOciError(await r.c.tagsList(repoName('nosuch')), 404, 'NAME_UNKNOWN');
    });
  });

  describe('catalog', () => {
    const prefix = `cat-${uid(6)}`;
    const names = [`${prefix}-b`, `${prefix}-a/x`, `${prefix}-a`, `${prefix}-c/y/z`, `${prefix}-a-b`, `${prefix}-a.b`];

    beforeAll(async () => {
      for (const n of names) await pushTags(r.c, n, ['latest']);
    });

    it('GET /v2/_catalog: 200, lists every repository once', async () => {
      const { repositories } = await catalogPage(r.c, '/v2/_catalog');
      for (const n of names) expect(repositories).toContain(n);
      expect(new Set(repositories).size).toBe(repositories.length);
    });

    it.skipIf(isReference)('the catalog is in lexical (byte) order', async () => {
      // reference 2.8.2 walks its directory tree, so a/x sorts before a-b and a.b
      const { repositories } = await catalogPage(r.c, '/v2/_catalog');
      expect(repositories).toEqual(asciiSorted(repositories));
      const ours = repositories.filter((n) => n.startsWith(prefix));
      expect(ours).toEqual([`${prefix}-a`, `${prefix}-a-b`, `${prefix}-a.b`, `${prefix}-a/x`, `${prefix}-b`, `${prefix}-c/y/z`]);
    });

    it('?n= pages with Link: </v2/_catalog?n=N&last=X>; rel="next" while more remain', async () => {
      const { repositories: all } = await catalogPage(r.c, '/v2/_catalog');
      const seen: string[] = [];
      let url: string | null = '/v2/_catalog?n=2';
      for (let pages = 1; url; pages++) {
        const { res, repositories } = await catalogPage(r.c, url);
        seen.push(...repositories);
        const link = nextLink(res, r.c.base);
        if (seen.length < all.length) {
          expect(repositories).toHaveLength(2);
          expect(link).not.toBeNull();
          expect(link?.pathname).toBe('/v2/_catalog');
          expect(link?.searchParams.get('n')).toBe('2');
          expect(link?.searchParams.get('last')).toBe(repositories[repositories.length - 1]);
        }
        url = link?.toString() ?? null;
        expect(pages).toBeLessThanOrEqual(all.length + 1);
      }
      expect(seen).toEqual(all);
    });

    it('?n=&last= returns up to n repositories after last', async () => {
      const { repositories: all } = await catalogPage(r.c, '/v2/_catalog');
      const last = `${prefix}-a`;
      const { repositories } = await catalogPage(r.c, `/v2/_catalog?n=3&last=${encodeURIComponent(last)}`);
      const i = all.indexOf(last);
      expect(repositories).toEqual(all.slice(i + 1, i + 4));
    });

    it('a catalog page that ends exactly at the last repository has no Link', async () => {
      const { repositories: all } = await catalogPage(r.c, '/v2/_catalog');
      const last = all[all.length - 3]!;
      const { res, repositories } = await catalogPage(r.c, `/v2/_catalog?n=2&last=${encodeURIComponent(last)}`);
      expect(repositories).toEqual(all.slice(-2));
      expect(res.headers.get('link')).toBeNull();
    });

    it('?n=0: empty list and no Link', async () => {
      const { res, repositories } = await catalogPage(r.c, '/v2/_catalog?n=0');
      expect(repositories).toEqual([]);
      expect(res.headers.get('link')).toBeNull();
    });

    it('?n= larger than the catalog: everything, no Link', async () => {
      const { repositories: all } = await catalogPage(r.c, '/v2/_catalog');
      const { res, repositories } = await catalogPage(r.c, '/v2/_catalog?n=1000');
      expect(repositories).toEqual(all);
      expect(res.headers.get('link')).toBeNull();
    });
  });
});

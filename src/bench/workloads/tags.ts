// Tags: `tags` distinct manifests (one annotation apart) pushed under their own tags into one
// repository by `tagClients` concurrent clients, then the tag list in full and by pages of n.
import type { Target } from '../servers.js';
import { mapConcurrent, now } from '../util.js';
import { imageManifest, pushImageBlobs } from './image.js';
import { medianWalk } from './listing.js';
import type { BenchContext, RunResult, Workload } from './types.js';

const payloads = new Map<number, Buffer[]>();

function manifestsFor(rep: number, count: number): Buffer[] {
  let list = payloads.get(rep);
  if (!list) {
    list = Array.from({ length: count }, (_, i) => imageManifest({ 'org.example.bench.tag': `${rep}-${i}` }));
    payloads.set(rep, list);
  }
  return list;
}

export const tags: Workload = {
  id: 'tags',
  title: 'tags',
  metrics: [
    { id: 'tags.create', label: 'create tags in one repository (manifest PUT), 16 clients', unit: 'PUT/s', better: 'higher', goal: { ratioAtLeast: 3 } },
    { id: 'tags.list.full', label: 'tag list, full', unit: 'ms', better: 'lower', goal: { ratioAtLeast: 1.0 } },
    { id: 'tags.list.page', label: 'tag list, paginated n=100, per page', unit: 'ms', better: 'lower', goal: { ratioAtLeast: 1.0 } },
  ],
  async run(target: Target, ctx: BenchContext, rep: number): Promise<RunResult> {
    const c = target.client;
    const repo = `bench/tags-${rep}`;
    await pushImageBlobs(c, repo);
    const list = manifestsFor(rep, ctx.sizes.tags);
    const t = now();
    await mapConcurrent(list, ctx.sizes.tagClients, (payload, i) =>
      c.putManifest(repo, `t${String(i).padStart(5, '0')}`, payload, 'application/vnd.oci.image.manifest.v1+json'),
    );
    const createRate = list.length / ((now() - t) / 1000);
    const full = await medianWalk(c, `/v2/${repo}/tags/list`, 'tags', ctx.sizes.listTries);
    const paged = await medianWalk(c, `/v2/${repo}/tags/list?n=${ctx.sizes.pageSize}`, 'tags', ctx.sizes.listTries);
    if (full.items !== list.length) throw new Error(`tag list returned ${full.items} tags, expected ${list.length}`);
    if (paged.items !== list.length) throw new Error(`paginated tag list returned ${paged.items} tags, expected ${list.length}`);
    return {
      values: { 'tags.create': createRate, 'tags.list.full': full.totalMs, 'tags.list.page': paged.pageMs },
      details: { tags: list.length, 'full: requests': full.pages, 'paginated: pages': paged.pages, 'paginated: whole walk ms': Number(paged.totalMs.toFixed(1)) },
    };
  },
};

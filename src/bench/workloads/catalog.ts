// Catalog: `repositories` repositories, each holding one small blob, then the catalog in full
// (from GET /v2/_catalog, following Link headers) and by pages of n.
import { deterministicBytes, sha256 } from '../data.js';
import type { Target } from '../servers.js';
import { mapConcurrent } from '../util.js';
import { medianWalk } from './listing.js';
import type { BenchContext, RunResult, Workload } from './types.js';

const seedBlob = deterministicBytes('catalog-seed', 512);
const seedDigest = sha256(seedBlob);

export const catalog: Workload = {
  id: 'catalog',
  title: 'catalog',
  metrics: [
    { id: 'catalog.full', label: 'catalog, full', unit: 'ms', better: 'lower', goal: { ratioAtLeast: 5 } },
    { id: 'catalog.page', label: 'catalog, paginated n=100, per page', unit: 'ms', better: 'lower', goal: { ratioAtLeast: 5 } },
  ],
  async setup(target: Target, ctx: BenchContext) {
    const names = Array.from({ length: ctx.sizes.repositories }, (_, i) => `catalog/r${String(i).padStart(5, '0')}`);
    await mapConcurrent(names, 16, (name) => target.client.pushMonolithic(name, seedDigest, seedBlob.length, seedBlob));
  },
  async run(target: Target, ctx: BenchContext): Promise<RunResult> {
    const c = target.client;
    const full = await medianWalk(c, '/v2/_catalog', 'repositories', ctx.sizes.listTries);
    const paged = await medianWalk(c, `/v2/_catalog?n=${ctx.sizes.pageSize}`, 'repositories', ctx.sizes.listTries);
    if (full.items < ctx.sizes.repositories) throw new Error(`catalog listed ${full.items} repositories, expected at least ${ctx.sizes.repositories}`);
    if (paged.items !== full.items) throw new Error(`paginated catalog listed ${paged.items} repositories, full listing ${full.items}`);
    return {
      values: { 'catalog.full': full.totalMs, 'catalog.page': paged.pageMs },
      details: {
        repositories: full.items,
        'full: requests': full.pages,
        'paginated: pages': paged.pages,
        'paginated: whole walk ms': Number(paged.totalMs.toFixed(1)),
      },
    };
  },
};

// Push of the large blob: monolithic (POST, then one PUT with the body) and chunked
// (POST, PATCHes of `chunk` bytes with Content-Range, PUT with the digest).
import { fileRange } from '../data.js';
import type { Target } from '../servers.js';
import { mbps, now } from '../util.js';
import type { BenchContext, RunResult, Workload } from './types.js';

export const push: Workload = {
  id: 'push',
  title: 'push of the large blob',
  metrics: [
    { id: 'push.monolithic', label: 'push large blob, monolithic (POST+PUT)', unit: 'MB/s', better: 'higher', goal: { ratioAtLeast: 2.0 } },
    { id: 'push.chunked', label: 'push large blob, chunked PATCHes', unit: 'MB/s', better: 'higher', goal: { ratioAtLeast: 2.0 } },
  ],
  async run(target: Target, ctx: BenchContext, rep: number): Promise<RunResult> {
    const blob = ctx.largeBlob;
    const c = target.client;
    let t = now();
    await c.pushMonolithic(`bench/push-monolithic-${rep}`, blob.digest, blob.size, fileRange(blob.path, 0, blob.size - 1));
    const monolithic = mbps(blob.size, now() - t);
    t = now();
    const patches = await c.pushChunked(`bench/push-chunked-${rep}`, blob.digest, blob.size, ctx.sizes.chunk, (start, end) => fileRange(blob.path, start, end));
    const chunked = mbps(blob.size, now() - t);
    return { values: { 'push.monolithic': monolithic, 'push.chunked': chunked }, details: { bytes: blob.size, patches } };
  },
};

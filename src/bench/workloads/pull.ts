// Pull of the large blob: one client, then `pullClients` clients at once (aggregate MB/s).
import { fileRange } from '../data.js';
import type { Target } from '../servers.js';
import { mbps, now } from '../util.js';
import type { BenchContext, RunResult, Workload } from './types.js';

const REPO = 'bench/pull';

export const pull: Workload = {
  id: 'pull',
  title: 'pull of the large blob',
  metrics: [
    { id: 'pull.single', label: 'pull large blob, 1 client', unit: 'MB/s', better: 'higher', goal: { ratioAtLeast: 1.0 } },
    { id: 'pull.concurrent', label: 'pull large blob, 4 concurrent clients', unit: 'MB/s', better: 'higher', goal: { ratioAtLeast: 1.0 } },
  ],
  async setup(target: Target, ctx: BenchContext) {
    const blob = ctx.largeBlob;
    if (await target.client.blobExists(REPO, blob.digest)) return;
    await target.client.pushMonolithic(REPO, blob.digest, blob.size, fileRange(blob.path, 0, blob.size - 1));
  },
  async run(target: Target, ctx: BenchContext): Promise<RunResult> {
    const blob = ctx.largeBlob;
    const c = target.client;
    const get = async () => {
      const res = await c.expect(200, `/v2/${REPO}/blobs/${blob.digest}`, { discard: true });
      if (res.bytes !== blob.size) throw new Error(`pull returned ${res.bytes} bytes, expected ${blob.size}`);
      return res.bytes;
    };
    let t = now();
    await get();
    const single = mbps(blob.size, now() - t);
    const n = ctx.sizes.pullClients;
    t = now();
    const bytes = (await Promise.all(Array.from({ length: n }, get))).reduce((a, b) => a + b, 0);
    const concurrent = mbps(bytes, now() - t);
    return { values: { 'pull.single': single, 'pull.concurrent': concurrent }, details: { clients: n } };
  },
};

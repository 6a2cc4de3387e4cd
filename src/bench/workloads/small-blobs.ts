// Many small blobs: `smallBlobs` blobs of `smallBlobSize` bytes pushed (POST + PUT each) by
// `smallClients` concurrent clients, then HEAD requests cycling over them from the load
// generator with as many connections.
import { deterministicBytes, sha256 } from '../data.js';
import { runLoadgen } from '../loadgen.js';
import type { Target } from '../servers.js';
import { mapConcurrent, now } from '../util.js';
import type { BenchContext, RunResult, Workload } from './types.js';

interface SmallBlob {
  data: Buffer;
  digest: string;
}

// Generated once per repetition and shared by every target: same bytes for everyone.
const generated = new Map<number, SmallBlob[]>();

function blobsFor(rep: number, ctx: BenchContext): SmallBlob[] {
  let blobs = generated.get(rep);
  if (!blobs) {
    const all = deterministicBytes(`small-${rep}`, ctx.sizes.smallBlobs * ctx.sizes.smallBlobSize);
    blobs = Array.from({ length: ctx.sizes.smallBlobs }, (_, i) => {
      const data = all.subarray(i * ctx.sizes.smallBlobSize, (i + 1) * ctx.sizes.smallBlobSize);
      return { data, digest: sha256(data) };
    });
    generated.set(rep, blobs);
  }
  return blobs;
}

export const smallBlobs: Workload = {
  id: 'small',
  title: 'small blobs',
  metrics: [
    { id: 'small.push', label: 'push 4 KiB blobs, 16 clients', unit: 'blobs/s', better: 'higher', goal: { ratioAtLeast: 3 } },
    { id: 'small.head', label: 'HEAD 4 KiB blobs, 16 connections', unit: 'req/s', better: 'higher', goal: { ratioAtLeast: 3 } },
  ],
  async run(target: Target, ctx: BenchContext, rep: number): Promise<RunResult> {
    const blobs = blobsFor(rep, ctx);
    const repo = `bench/small-${rep}`;
    const c = target.client;
    const t = now();
    await mapConcurrent(blobs, ctx.sizes.smallClients, (b) => c.pushMonolithic(repo, b.digest, b.data.length, b.data));
    const pushRate = blobs.length / ((now() - t) / 1000);
    const port = Number(new URL(target.url).port);
    const head = await runLoadgen({
      host: '127.0.0.1',
      port,
      connections: ctx.sizes.smallClients,
      durationMs: ctx.sizes.headDurationMs,
      requests: blobs.map((b) => ({ method: 'HEAD', path: `/v2/${repo}/blobs/${b.digest}` })),
    });
    if (head.non2xx > 0 || head.errors > 0) throw new Error(`HEAD of small blobs: ${head.non2xx} non-2xx, ${head.errors} errors (${JSON.stringify(head.statuses)})`);
    return {
      values: { 'small.push': pushRate, 'small.head': head.rps },
      details: { blobs: blobs.length, headRequests: head.requests, headP99ms: head.latencyMs.p99 },
    };
  },
};

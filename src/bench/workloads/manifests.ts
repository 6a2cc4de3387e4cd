// Manifest GET and HEAD, by tag and by digest, `manifestConnections` connections for
// `manifestDurationMs` each. GET runs under wrk; HEAD under the bench's own load generator,
// because wrk 4.1 cannot read a HEAD response that carries Content-Length.
import { sha256 } from '../data.js';
import { runLoadgen, type LoadResult } from '../loadgen.js';
import type { Target } from '../servers.js';
import { runWrk } from '../wrk.js';
import { imageManifest, MANIFEST_ACCEPT, pushImageBlobs } from './image.js';
import type { BenchContext, MetricSpec, RunResult, Workload } from './types.js';

const REPO = 'bench/manifest';
const TAG = 'latest';
const manifest = imageManifest({ 'org.opencontainers.image.title': 'wharf bench' });
const digest = sha256(manifest);

const VARIANTS = [
  { key: 'get.tag', method: 'GET', ref: TAG, label: 'manifest GET by tag' },
  { key: 'get.digest', method: 'GET', ref: digest, label: 'manifest GET by digest' },
  { key: 'head.tag', method: 'HEAD', ref: TAG, label: 'manifest HEAD by tag' },
  { key: 'head.digest', method: 'HEAD', ref: digest, label: 'manifest HEAD by digest' },
] as const;

const metrics: MetricSpec[] = VARIANTS.flatMap((v) => [
  { id: `manifest.${v.key}.rps`, label: `${v.label}, 32 connections`, unit: 'req/s', better: 'higher' as const, goal: { ratioAtLeast: 3 } },
  { id: `manifest.${v.key}.p99`, label: `${v.label}, p99 latency`, unit: 'ms', better: 'lower' as const, goal: { ratioAtLeast: 1.0 } },
]);

async function load(target: Target, ctx: BenchContext, method: 'GET' | 'HEAD', ref: string, durationMs: number): Promise<LoadResult> {
  const path = `/v2/${REPO}/manifests/${ref}`;
  const headers = { Accept: MANIFEST_ACCEPT };
  if (method === 'GET') {
    return runWrk({ url: `${target.url}${path}`, method, headers, connections: ctx.sizes.manifestConnections, threads: 2, durationMs, scriptDir: ctx.workDir }, ctx.log);
  }
  return runLoadgen({
    host: '127.0.0.1',
    port: Number(new URL(target.url).port),
    connections: ctx.sizes.manifestConnections,
    durationMs,
    requests: [{ method, path, headers }],
  });
}

export const manifests: Workload = {
  id: 'manifest',
  title: 'manifest GET/HEAD',
  metrics,
  async setup(target: Target, ctx: BenchContext) {
    await pushImageBlobs(target.client, REPO);
    await target.client.putManifest(REPO, TAG, manifest, 'application/vnd.oci.image.manifest.v1+json');
    // The same short warm-up for every server (a JIT compiles the hot path; Go needs none).
    await load(target, ctx, 'GET', TAG, ctx.sizes.warmupMs);
    await load(target, ctx, 'HEAD', digest, ctx.sizes.warmupMs);
  },
  async run(target: Target, ctx: BenchContext): Promise<RunResult> {
    const values: Record<string, number> = {};
    const details: Record<string, string | number> = {};
    for (const v of VARIANTS) {
      const r = await load(target, ctx, v.method, v.ref, ctx.sizes.manifestDurationMs);
      if (r.non2xx > 0 || r.errors > 0 || r.requests === 0) {
        throw new Error(`${v.label}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors ${JSON.stringify(r.statuses)}`);
      }
      values[`manifest.${v.key}.rps`] = r.rps;
      values[`manifest.${v.key}.p99`] = r.latencyMs.p99;
      details[`${v.key} p50 ms`] = Number(r.latencyMs.p50.toFixed(2));
      details[`${v.key} tool`] = r.tool;
    }
    return { values, details };
  },
};

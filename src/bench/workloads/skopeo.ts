// skopeo copy of a multi-layer image from an OCI layout into the registry, and back out
// into a fresh OCI layout. Each repetition copies its own layout: skopeo's blob-info cache
// remembers where it pushed a digest and would mount it from there instead of uploading.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target } from '../servers.js';
import { locateOrInstall, now, run } from '../util.js';
import type { BenchContext, RunResult, Workload } from './types.js';

export const skopeo: Workload = {
  id: 'skopeo',
  title: 'skopeo copy',
  metrics: [
    { id: 'skopeo.in', label: 'skopeo copy in (OCI layout -> registry)', unit: 's', better: 'lower', goal: { ratioAtLeast: 1.0 } },
    { id: 'skopeo.out', label: 'skopeo copy out (registry -> OCI layout)', unit: 's', better: 'lower', goal: { ratioAtLeast: 1.0 } },
  ],
  async run(target: Target, ctx: BenchContext, rep: number): Promise<RunResult> {
    const bin = locateOrInstall('skopeo', 'skopeo', ctx.log);
    const layout = ctx.layouts[rep % ctx.layouts.length]!;
    const ref = `docker://${target.host}/bench/skopeo-${rep}:${layout.tag}`;
    let t = now();
    await run(bin, ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout.dir}:${layout.tag}`, ref]);
    const copyIn = (now() - t) / 1000;
    const out = await mkdtemp(join(ctx.workDir, 'skopeo-out-'));
    try {
      t = now();
      await run(bin, ['copy', '--quiet', '--src-tls-verify=false', ref, `oci:${out}:${layout.tag}`]);
      const copyOut = (now() - t) / 1000;
      return { values: { 'skopeo.in': copyIn, 'skopeo.out': copyOut }, details: { 'image MB': Number((layout.bytes / 1e6).toFixed(1)), layers: layout.layers } };
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  },
};

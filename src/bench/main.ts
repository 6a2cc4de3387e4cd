// npm run bench [-- --quick] [--only push,pull,...] [--targets reference,wharf,wharf-w2]
//                [--repetitions N] [--output docs/benchmarks.md] [--no-write] [--json FILE]
//                [--cpu-prof DIR] [--cache-dir DIR] [--work-dir DIR]
//
// Starts the reference registry and Wharf (one process, and --workers 2) on loopback ports,
// runs the same workloads against each, and prints (and writes) one table of ratios.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureBlobFile, ensureOciLayout, type OciLayout } from './data.js';
import { measureReferences, type References } from './references.js';
import { documentWith, markdown, table, missedTargets, type Results } from './report.js';
import { startTarget, TARGETS, type Target, type TargetId } from './servers.js';
import { GiB, loadAverage, locateOrInstall, machineInfo, MiB } from './util.js';
import { catalog } from './workloads/catalog.js';
import { manifests } from './workloads/manifests.js';
import { pull } from './workloads/pull.js';
import { push } from './workloads/push.js';
import { skopeo } from './workloads/skopeo.js';
import { smallBlobs } from './workloads/small-blobs.js';
import { tags } from './workloads/tags.js';
import type { BenchContext, MetricSpec, Sizes, Workload } from './workloads/types.js';

const WORKLOADS: Workload[] = [push, pull, smallBlobs, manifests, tags, catalog, skopeo];

const RSS_METRIC: MetricSpec = { id: 'rss.peak', label: 'peak RSS of one server process', unit: 'MB', better: 'lower', goal: { maxValue: 150 } };

const FULL: Sizes = {
  largeBlob: GiB,
  chunk: 16 * MiB,
  pullClients: 4,
  smallBlobs: 2000,
  smallBlobSize: 4096,
  smallClients: 16,
  headDurationMs: 10_000,
  manifestDurationMs: 10_000,
  manifestConnections: 32,
  warmupMs: 2_000,
  tags: 5000,
  tagClients: 16,
  listTries: 10,
  pageSize: 100,
  repositories: 1000,
  skopeoLayers: 6,
  skopeoLayerBytes: 50_000_000,
  diskBytes: GiB,
  loopbackBytes: 4 * GiB,
  opensslSeconds: 3,
};

const QUICK: Sizes = {
  largeBlob: 16 * MiB,
  chunk: 4 * MiB,
  pullClients: 4,
  smallBlobs: 200,
  smallBlobSize: 4096,
  smallClients: 16,
  headDurationMs: 1000,
  manifestDurationMs: 1000,
  manifestConnections: 32,
  warmupMs: 300,
  tags: 200,
  tagClients: 16,
  listTries: 3,
  pageSize: 100,
  repositories: 100,
  skopeoLayers: 2,
  skopeoLayerBytes: 2_000_000,
  diskBytes: 64 * MiB,
  loopbackBytes: 256 * MiB,
  opensslSeconds: 1,
};

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

const HELP = `npm run bench -- [options]

  --quick               tiny sizes, one repetition (a smoke test, under a minute)
  --only LIST           workloads to run: ${WORKLOADS.map((w) => w.id).join(',')} (default: all)
  --targets LIST        servers: ${TARGETS.map((t) => t.id).join(',')} (default: all)
  --repetitions N       repetitions per workload, median reported (default 3; 1 with --quick)
  --output FILE         markdown to update (default docs/benchmarks.md)
  --no-write            print only
  --no-references       skip the machine's physical references
  --json FILE           also write every raw number as JSON
  --cpu-prof DIR        run Wharf under node --cpu-prof, profiles in DIR (summarise: node dist/bench/profile.js DIR)
  --cache-dir DIR       generated blobs and OCI layouts, reused between runs (default $TMPDIR/wharf-bench-cache)
  --wharf FILE          Wharf's cli/main.js to benchmark (default: dist/cli/main.js of this checkout)
  --node-flags "FLAGS"  Node.js options for Wharf (default: those of the bin's #! line, as \`wharf serve\` runs)
  --work-dir DIR        parent of the servers' temporary data directories (default $TMPDIR)
`;

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      targets: { type: 'string' },
      repetitions: { type: 'string' },
      output: { type: 'string' },
      'no-write': { type: 'boolean', default: false },
      'no-references': { type: 'boolean', default: false },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'cache-dir': { type: 'string' },
      'work-dir': { type: 'string' },
      wharf: { type: 'string' },
      'node-flags': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  const quick = args.quick ?? false;
  const sizes = quick ? QUICK : FULL;
  const repetitions = args.repetitions !== undefined ? Number(args.repetitions) : quick ? 1 : 3;
  if (!Number.isInteger(repetitions) || repetitions < 1) throw new Error('--repetitions must be a positive integer');
  const only = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of only ?? []) if (!WORKLOADS.some((w) => w.id === id)) throw new Error(`unknown workload ${id}: use ${WORKLOADS.map((w) => w.id).join(',')}`);
  const workloads = only ? WORKLOADS.filter((w) => only.includes(w.id)) : WORKLOADS;
  const targetIds = (args.targets?.split(',').map((s) => s.trim()) ?? TARGETS.map((t) => t.id)) as TargetId[];
  for (const id of targetIds) if (!TARGETS.some((t) => t.id === id)) throw new Error(`unknown target ${id}: use ${TARGETS.map((t) => t.id).join(',')}`);
  const output = resolve(repoRoot, args.output ?? 'docs/benchmarks.md');

  const started = Date.now();
  const log = (msg: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
  const machine = machineInfo();
  const loadStart = loadAverage();
  log(`${machine.cpu}, ${machine.cores} cores, ${machine.memory}, Node ${machine.node}; load average ${loadStart}`);

  // Tools first, so a missing one fails (or installs) before minutes of work.
  if (targetIds.includes('reference')) locateOrInstall('docker-registry', 'docker-registry', log);
  if (workloads.includes(manifests)) locateOrInstall('wrk', 'wrk', log);
  if (workloads.includes(skopeo)) locateOrInstall('skopeo', 'skopeo', log);

  const cacheDir = resolve(args['cache-dir'] ?? join(os.tmpdir(), 'wharf-bench-cache'));
  const workParent = resolve(args['work-dir'] ?? os.tmpdir());
  await mkdir(workParent, { recursive: true });
  const workDir = await mkdtemp(join(workParent, 'wharf-bench-'));
  if (args['cpu-prof']) await mkdir(resolve(args['cpu-prof']), { recursive: true });

  const largeBlob = await ensureBlobFile(cacheDir, 'large', sizes.largeBlob, log);
  const layouts: OciLayout[] = [];
  if (workloads.includes(skopeo)) {
    for (let rep = 0; rep < repetitions; rep++) layouts.push(await ensureOciLayout(cacheDir, `image${rep}`, sizes.skopeoLayers, sizes.skopeoLayerBytes, log));
  }

  let references: References | undefined;
  if (!args['no-references']) {
    references = await measureReferences({ dir: workDir, diskBytes: sizes.diskBytes, loopbackBytes: sizes.loopbackBytes, opensslSeconds: sizes.opensslSeconds, log });
    log(`references: sha256 ${references.sha256.toFixed(0)} MB/s, disk ${references.diskWrite.toFixed(0)} MB/s, loopback ${references.loopback.toFixed(0)} MB/s`);
  }

  const ctx: BenchContext = { quick, sizes, repetitions, workDir, cacheDir, log, largeBlob, layouts };
  const results: Results = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine,
    loadStart,
    loadEnd: '',
    durationS: 0,
    quick,
    repetitions,
    sizes,
    references,
    targets: [],
    sections: [...workloads.map((w) => ({ title: w.title, metrics: w.metrics })), { title: 'memory', metrics: [RSS_METRIC] }],
    values: {},
    details: {},
    errors: [],
    memory: {},
    peakAfter: {},
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  };

  const targets: Target[] = [];
  const stopAll = async () => {
    await Promise.allSettled(targets.splice(0).map((t) => t.stop()));
  };
  const onSignal = () => {
    log('interrupted: stopping the servers');
    void stopAll()
      .then(() => rm(workDir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    for (const id of targetIds) {
      log(`starting ${id}`);
      const t = await startTarget(id, {
        workDir,
        log,
        requestTimeoutMs: quick ? 8_000 : 60_000,
        ...(args['cpu-prof'] ? { cpuProfDir: args['cpu-prof'] } : {}),
        ...(args.wharf ? { wharfMain: args.wharf } : {}),
        ...(args['node-flags'] !== undefined ? { nodeFlags: args['node-flags'].split(/\s+/).filter(Boolean) } : {}),
      });
      targets.push(t);
      results.targets.push({ id: t.id, label: t.label, version: t.version });
      log(`${id}: ${t.version} on ${t.url}, pid ${t.pid}`);
    }

    for (const w of workloads) {
      const failed = new Set<TargetId>();
      const fail = (t: Target, err: unknown) => {
        failed.add(t.id);
        const message = err instanceof Error ? err.message : String(err);
        results.errors.push({ workload: w.id, target: t.id, message });
        log(`${w.id} on ${t.id} FAILED: ${message}`);
      };
      for (const t of targets) {
        if (!w.setup) continue;
        log(`${w.id}: setup on ${t.id}`);
        await w.setup(t, ctx).catch((err: unknown) => fail(t, err));
      }
      for (let rep = 0; rep < repetitions; rep++) {
        // Targets take turns, starting with a different one each repetition.
        const order = targets.map((_, i) => targets[(i + rep) % targets.length]!);
        for (const t of order) {
          if (failed.has(t.id)) continue;
          try {
            const r = await w.run(t, ctx, rep);
            for (const [metric, value] of Object.entries(r.values)) ((results.values[metric] ??= {})[t.id] ??= []).push(value);
            if (r.details) ((results.details[w.title] ??= {})[t.id] ??= []).push(r.details);
            log(`${w.id} rep ${rep + 1}/${repetitions} on ${t.id}: ${Object.entries(r.values).map(([k, v]) => `${k}=${v.toFixed(2)}`).join(' ')}`);
          } catch (err) {
            fail(t, err);
          }
        }
      }
      for (const t of targets) {
        const peak = Math.max(...t.memory().map((p) => p.peak)) / 1e6;
        (results.peakAfter[w.id] ??= {})[t.id] = peak;
      }
      log(`${w.id}: peak RSS so far ${targets.map((t) => `${t.id} ${results.peakAfter[w.id]![t.id]!.toFixed(0)} MB`).join(', ')}`);
    }

    for (const t of targets) {
      const procs = t.memory();
      results.memory[t.id] = procs;
      const peak = Math.max(...procs.map((p) => p.peak)) / 1e6;
      (results.values[RSS_METRIC.id] ??= {})[t.id] = [peak];
    }
  } finally {
    log('stopping the servers');
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rm(workDir, { recursive: true, force: true });
  }

  results.loadEnd = loadAverage();
  results.durationS = (Date.now() - started) / 1000;
  const text = markdown(results);
  process.stdout.write(`\n${table(results)}\n\n`);
  const missed = missedTargets(results);
  if (missed.length > 0) process.stdout.write(`Targets missed:\n${missed.map((m) => `  - ${m}`).join('\n')}\n\n`);
  if (results.errors.length > 0) process.stdout.write(`Errors:\n${results.errors.map((e) => `  - ${e.workload} on ${e.target}: ${e.message}`).join('\n')}\n\n`);
  process.stdout.write(`load average: start ${results.loadStart}, end ${results.loadEnd}; ${results.durationS.toFixed(0)} s\n`);
  if (args.json) await writeFile(resolve(args.json), JSON.stringify(results, null, 2));
  if (!args['no-write']) {
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, documentWith(output, text, INTRO, AFTERWORD));
    log(`wrote ${output}`);
  }
  if (results.errors.length > 0) process.exitCode = 1;
}

const INTRO = `# Benchmarks

\`npm run bench\` starts the CNCF reference registry (Debian's \`docker-registry\`, distribution
2.8.2, installed with apt-get when missing) and Wharf from \`dist/\` (embedded defaults: SQLite +
filesystem, one process, and \`--workers 2\`) as child processes on loopback ports, each with a
fresh data directory, runs the same workloads against each in one run, and writes the block
below. It is not a test and does not run in CI; \`npm run bench -- --quick\` is a smoke run
(tiny sizes, under a minute) that exercises every workload against every server.

\`\`\`sh
npm run build
npm run bench                              # full run (about 15 minutes), rewrites the block below
npm run bench -- --quick --no-write        # smoke run
npm run bench -- --only manifest,tags --targets reference,wharf --repetitions 5
npm run bench -- --only small --targets wharf --cpu-prof /tmp/prof --no-write
npm run bench -- --wharf /path/to/other/checkout/dist/cli/main.js   # benchmark another build
node dist/bench/profile.js /tmp/prof       # top self-time functions and files of those profiles
\`\`\`

How it measures: the reference runs Debian's shipped configuration (filesystem storage, in-memory
blob descriptor cache) without auth, with the access log off; Wharf logs at \`warn\` and runs
with \`WHARF_AUTH=none\` (no auth on either side: like for like). Blobs are
AES-CTR keystream (incompressible), generated once into a cache directory with their digests and
streamed from there. The client is node:http with keep-alive agents. Manifest GET rates come from
wrk (\`-t2\`, \`--latency\`); HEAD rates from the bench's own load generator (\`dist/bench/loadgen.js\`,
a raw-socket closed loop in its own process), because wrk 4.1 cannot read a HEAD response that
carries Content-Length. Peak RSS is each process's VmHWM from /proc. The machine has two cores,
shared by the servers, the clients and the load generators.
`;

const AFTERWORD = `
## Analysis

(Written by hand after a full run: what bounds each missed target, from \`--cpu-prof\` profiles.)
`;

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

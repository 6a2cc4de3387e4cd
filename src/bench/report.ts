// The results table (markdown, printed and written to docs/benchmarks.md).
import { existsSync, readFileSync } from 'node:fs';
import type { References } from './references.js';
import type { ProcessMemory, TargetId } from './servers.js';
import { formatNumber, median, MiB, type MachineInfo } from './util.js';
import type { MetricSpec, Sizes } from './workloads/types.js';

export interface Results {
  date: string;
  machine: MachineInfo;
  loadStart: string;
  loadEnd: string;
  durationS: number;
  quick: boolean;
  repetitions: number;
  sizes: Sizes;
  references: References | undefined;
  targets: { id: TargetId; label: string; version: string }[];
  /** Workload titles and their metrics, in run order. */
  sections: { title: string; metrics: MetricSpec[] }[];
  /** metric id -> target -> one value per repetition */
  values: Record<string, Partial<Record<TargetId, number[]>>>;
  /** workload title -> target -> details of each repetition */
  details: Record<string, Partial<Record<TargetId, Record<string, string | number>[]>>>;
  errors: { workload: string; target: TargetId; message: string }[];
  memory: Partial<Record<TargetId, ProcessMemory[]>>;
  /** workload id -> target -> the highest peak of its processes once that workload finished, MB: which workload raised it. */
  peakAfter: Record<string, Partial<Record<TargetId, number>>>;
  command: string;
}

export interface Row {
  metric: MetricSpec;
  reference: number;
  wharf: number;
  wharf2: number;
  ratio: number;
  ratio2: number;
  met: boolean | undefined;
  met2: boolean | undefined;
}

function ratioOf(metric: MetricSpec, reference: number, value: number): number {
  if (!Number.isFinite(reference) || !Number.isFinite(value) || reference <= 0 || value <= 0) return NaN;
  return metric.better === 'higher' ? value / reference : reference / value;
}

function metGoal(metric: MetricSpec, value: number, ratio: number): boolean | undefined {
  if (!metric.goal || !Number.isFinite(value)) return undefined;
  if ('maxValue' in metric.goal) return value <= metric.goal.maxValue;
  return Number.isFinite(ratio) ? ratio >= metric.goal.ratioAtLeast : undefined;
}

export function rows(results: Results): Row[] {
  const out: Row[] = [];
  for (const section of results.sections) {
    for (const metric of section.metrics) {
      const v = results.values[metric.id] ?? {};
      const reference = median(v.reference ?? []);
      const wharf = median(v.wharf ?? []);
      const wharf2 = median(v['wharf-w2'] ?? []);
      const ratio = ratioOf(metric, reference, wharf);
      const ratio2 = ratioOf(metric, reference, wharf2);
      out.push({ metric, reference, wharf, wharf2, ratio, ratio2, met: metGoal(metric, wharf, ratio), met2: metGoal(metric, wharf2, ratio2) });
    }
  }
  return out;
}

function goalText(metric: MetricSpec): string {
  if (!metric.goal) return '';
  if ('maxValue' in metric.goal) return `<= ${metric.goal.maxValue} ${metric.unit}`;
  const qualifier = metric.unit === 'ms' && metric.id.endsWith('.p99') ? ' (p99 <= reference)' : '';
  return `>= ${metric.goal.ratioAtLeast.toFixed(1)}x${qualifier}`;
}

const mark = (met: boolean | undefined) => (met === undefined ? '-' : met ? 'yes' : '**no**');
const ratioText = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');

export function table(results: Results): string {
  const lines = [
    '| workload | unit | reference | Wharf | ratio | Wharf --workers 2 | ratio | target | met (1 process / workers 2) |',
    '|---|---|--:|--:|--:|--:|--:|---|---|',
  ];
  for (const r of rows(results)) {
    lines.push(
      `| ${r.metric.label} | ${r.metric.unit} | ${formatNumber(r.reference)} | ${formatNumber(r.wharf)} | ${ratioText(r.ratio)} | ${formatNumber(r.wharf2)} | ${ratioText(r.ratio2)} | ${goalText(r.metric)} | ${mark(r.met)} / ${mark(r.met2)} |`,
    );
  }
  return lines.join('\n');
}

export function missedTargets(results: Results): string[] {
  const out: string[] = [];
  for (const r of rows(results)) {
    const goal = r.metric.goal;
    if (!goal) continue;
    for (const [who, met, value, ratio] of [
      ['Wharf (1 process)', r.met, r.wharf, r.ratio],
      ['Wharf (--workers 2)', r.met2, r.wharf2, r.ratio2],
    ] as const) {
      if (met !== false) continue;
      if ('maxValue' in goal) {
        out.push(`${r.metric.label}: ${who} ${formatNumber(value)} ${r.metric.unit}, target <= ${goal.maxValue} ${r.metric.unit} (over by ${formatNumber(value - goal.maxValue)} ${r.metric.unit})`);
      } else {
        const short = (1 - ratio / goal.ratioAtLeast) * 100;
        out.push(`${r.metric.label}: ${who} ${ratio.toFixed(2)}x, target >= ${goal.ratioAtLeast.toFixed(1)}x (${short.toFixed(0)}% short)`);
      }
    }
  }
  return out;
}

export function referencesText(ref: References | undefined): string {
  if (!ref) return '(not measured in this run)';
  return [
    `- single-core SHA-256 (\`openssl speed -bytes 16384 sha256\`): **${formatNumber(ref.sha256)} MB/s**`,
    `- sequential write + fsync of ${(ref.diskBytes / MiB).toFixed(0)} MiB on the data disk (${ref.diskDir}): **${formatNumber(ref.diskWrite)} MB/s**`,
    `- loopback TCP, one connection, ${(ref.loopbackBytes / MiB).toFixed(0)} MiB between two Node processes: **${formatNumber(ref.loopback)} MB/s**`,
  ].join('\n');
}

function sizesText(s: Sizes, repetitions: number): string {
  return [
    `- large blob ${(s.largeBlob / MiB).toFixed(0)} MiB (chunked: ${(s.chunk / MiB).toFixed(0)} MiB PATCHes); pull with 1 and ${s.pullClients} clients`,
    `- ${s.smallBlobs} blobs of ${s.smallBlobSize / 1024} KiB, ${s.smallClients} clients; HEAD of them for ${s.headDurationMs / 1000} s`,
    `- manifest GET (wrk) and HEAD (bench load generator): ${s.manifestConnections} connections, ${s.manifestDurationMs / 1000} s each, after a ${s.warmupMs / 1000} s warm-up`,
    `- ${s.tags} tags in one repository, ${s.tagClients} clients; ${s.repositories} repositories in the catalog; listings: median of ${s.listTries} tries, pages of n=${s.pageSize}`,
    `- skopeo image: ${s.skopeoLayers} layers of ${(s.skopeoLayerBytes / 1e6).toFixed(0)} MB`,
    `- every number is the median of ${repetitions} repetition(s); targets take turns within each repetition`,
  ].join('\n');
}

export function markdown(results: Results): string {
  const m = results.machine;
  const missed = missedTargets(results);
  const memory = Object.entries(results.memory)
    .map(([id, procs]) => `- ${id}: ${(procs ?? []).map((p) => `${p.role} (pid ${p.pid}) ${(p.peak / 1e6).toFixed(0)} MB`).join(', ')}`)
    .join('\n');
  const details = Object.entries(results.details)
    .map(([title, byTarget]) => {
      const lines = Object.entries(byTarget).map(([id, reps]) => `  - ${id}: ${(reps ?? []).map((d) => Object.entries(d).map(([k, v]) => `${k} ${v}`).join(', ')).join(' | ')}`);
      return `- ${title}\n${lines.join('\n')}`;
    })
    .join('\n');
  const perRep = rows(results)
    .map((r) => {
      const v = results.values[r.metric.id] ?? {};
      const fmt = (xs: number[] | undefined) => (xs ?? []).map(formatNumber).join(', ');
      return `| ${r.metric.label} | ${fmt(v.reference)} | ${fmt(v.wharf)} | ${fmt(v['wharf-w2'])} |`;
    })
    .join('\n');
  return [
    `Run ${results.date}${results.quick ? ' (**--quick**: tiny sizes, a smoke test, not a measurement)' : ''}, \`${results.command}\`, ${results.durationS.toFixed(0)} s.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory}; ${m.os}, kernel ${m.kernel}; Node ${m.node}. Load average (1/5/15 min) at start ${results.loadStart}, at end ${results.loadEnd}.`,
    '',
    `Servers: ${results.targets.map((t) => `${t.label} = \`${t.version}\``).join('; ')}.`,
    '',
    '### Physical references',
    '',
    referencesText(results.references),
    '',
    '### Results',
    '',
    'Ratio = Wharf / reference where higher is better, reference / Wharf where lower is better (ms, s, MB): above 1.00x Wharf is better.',
    '',
    table(results),
    '',
    missed.length > 0 ? `Targets missed:\n\n${missed.map((x) => `- ${x}`).join('\n')}` : 'Every target with a number was met.',
    '',
    ...(results.errors.length > 0 ? ['Errors (these workloads have no number for that server):', '', ...results.errors.map((e) => `- ${e.workload} on ${e.target}: ${e.message.split('\n')[0]}`), ''] : []),
    'Sizes:',
    '',
    sizesText(results.sizes, results.repetitions),
    '',
    '<details><summary>Every repetition, peak RSS per process, workload details</summary>',
    '',
    '| metric | reference | Wharf | Wharf --workers 2 |',
    '|---|---|---|---|',
    perRep,
    '',
    'Peak RSS (VmHWM) per process:',
    '',
    memory,
    '',
    'Peak RSS (highest VmHWM of the server processes, MB) once each workload had finished:',
    '',
    ...Object.entries(results.peakAfter ?? {}).map(([w, byTarget]) => `- ${w}: ${Object.entries(byTarget).map(([id, mb]) => `${id} ${(mb ?? 0).toFixed(0)}`).join(', ')}`),
    '',
    'Details:',
    '',
    details,
    '',
    '</details>',
  ].join('\n');
}

export const BEGIN = '<!-- bench:results:begin (written by npm run bench; edit outside these markers) -->';
export const END = '<!-- bench:results:end -->';

/** The whole docs/benchmarks.md: the generated block replaces the old one, the rest is kept. */
export function documentWith(existingPath: string, generated: string, intro: string, afterword: string): string {
  const block = `${BEGIN}\n${generated}\n${END}`;
  if (existsSync(existingPath)) {
    const old = readFileSync(existingPath, 'utf8');
    const b = old.indexOf(BEGIN.slice(0, 24));
    const e = old.indexOf(END);
    if (b >= 0 && e > b) return old.slice(0, b) + block + old.slice(e + END.length);
  }
  return `${intro}\n${block}\n${afterword}`;
}

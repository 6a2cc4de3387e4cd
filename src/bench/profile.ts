// Summarises V8 CPU profiles (node --cpu-prof): self time by function and by file/package.
//
//   node dist/bench/profile.js DIR|FILE... [--top N]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  functions: { name: string; ms: number }[];
  files: { name: string; ms: number }[];
}

function fileGroup(url: string): string {
  if (!url) return '(native / V8)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return path;
  const dist = path.indexOf('/dist/');
  return dist >= 0 ? path.slice(dist + 1) : path;
}

export function summarize(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i] ?? 0) / 1000);
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const name = `${functionName || '(anonymous)'} ${fileGroup(url)}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const group = fileGroup(url);
    files.set(group, (files.get(group) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { file, totalMs: total, idleMs: idle, functions: sorted(functions), files: sorted(files) };
}

function profilesIn(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(p, f))
      : [p],
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  for (const file of profilesIn(args)) {
    const s = summarize(file);
    const busy = s.totalMs - s.idleMs;
    const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
    process.stdout.write(`\n${file}\n  ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (${((busy / s.totalMs) * 100).toFixed(0)}%)\n`);
    process.stdout.write('  self time by file/package (% of busy):\n');
    for (const f of s.files.slice(0, 15)) process.stdout.write(`    ${pct(f.ms)} ${(f.ms / 1000).toFixed(2).padStart(7)} s  ${f.name}\n`);
    process.stdout.write(`  top ${top} functions by self time:\n`);
    for (const f of s.functions.slice(0, top)) process.stdout.write(`    ${pct(f.ms)} ${(f.ms / 1000).toFixed(2).padStart(7)} s  ${f.name}\n`);
  }
}

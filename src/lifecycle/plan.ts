// How an evaluation's expiries are carried out: grouped into units that go together, ordered
// so nothing is left pointing at a deleted manifest, and re-decided against the database as it
// is at deletion time. Pure: run.ts supplies the data and the transaction.
import type { CurrentManifest } from '../metadata/lifecycle-store.js';
import type { Expiry, LifecycleImage } from './types.js';

/** Manifests that go together: one a rule expired (the root) and those that go with it. */
export interface ExpiryUnit {
  root: string;
  /** In deletion order. */
  members: Expiry[];
}

export interface UnitDecision {
  /** Digests to delete, in order. */
  remove: string[];
  /** Digest -> why it stays after all. */
  skipped: Map<string, string>;
}

/** The manifests an image names by digest: an index's children, a referrer's subject. */
function named(image: LifecycleImage | undefined): string[] {
  if (!image) return [];
  return image.subject !== undefined ? [...image.children, image.subject] : image.children;
}

/**
 * Orders expiries so that a manifest comes before every manifest whose digest it contains: an
 * index before its children, a referrer before its subject. Digests are hashes of content that
 * names them, so these edges cannot form a cycle; the fallback for one only keeps the function total.
 */
export function deletionOrder(expiries: Expiry[], images: Map<string, LifecycleImage>): Expiry[] {
  const position = new Map(expiries.map((e, i) => [e.digest, i]));
  const indegree = new Map(expiries.map((e) => [e.digest, 0]));
  const edges = new Map<string, string[]>();
  for (const e of expiries) {
    const targets = named(images.get(e.digest)).filter((d) => position.has(d) && d !== e.digest);
    edges.set(e.digest, targets);
    for (const t of targets) indegree.set(t, (indegree.get(t) ?? 0) + 1);
  }
  // Kahn's algorithm; among the ready ones, the engine's order, so the result is deterministic.
  const ready = expiries.filter((e) => indegree.get(e.digest) === 0);
  const out: Expiry[] = [];
  const done = new Set<string>();
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a.digest)! - position.get(b.digest)!);
    const next = ready.shift()!;
    out.push(next);
    done.add(next.digest);
    for (const t of edges.get(next.digest) ?? []) {
      const left = indegree.get(t)! - 1;
      indegree.set(t, left);
      if (left === 0) ready.push(expiries[position.get(t)!]!);
    }
  }
  for (const e of expiries) if (!done.has(e.digest)) out.push(e);
  return out;
}

/** Follows `withDigest` to the expiry a rule chose (within this evaluation). */
function rootOf(e: Expiry, byDigest: Map<string, Expiry>): string {
  let current = e;
  const seen = new Set<string>([current.digest]);
  while (current.withDigest !== undefined) {
    const next = byDigest.get(current.withDigest);
    if (!next || seen.has(next.digest)) break;
    seen.add(next.digest);
    current = next;
  }
  return current.digest;
}

/** Groups expiries into units and orders units and members for deletion. */
export function planExpiries(expiries: Expiry[], images: Map<string, LifecycleImage>): ExpiryUnit[] {
  const byDigest = new Map(expiries.map((e) => [e.digest, e]));
  const units = new Map<string, ExpiryUnit>();
  // In deletion order, so each unit's members are ordered and units come in the order of their
  // first member (an index's unit before a unit holding one of its children).
  for (const e of deletionOrder(expiries, images)) {
    const root = rootOf(e, byDigest);
    const unit = units.get(root);
    if (unit) unit.members.push(e);
    else units.set(root, { root, members: [e] });
  }
  return [...units.values()];
}

function sameTags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((t, i) => t === sorted[i]);
}

/**
 * Which members of a unit may still go, given the manifests as they are now (read inside the
 * deleting transaction). A manifest stays when it is gone already, when its tags changed since
 * the evaluation (a push moved a tag onto or off it), when an index that stays lists it, or when
 * what it goes with (its subject, the index listing it, or the unit's root) stays.
 */
export function decideUnit(unit: ExpiryUnit, images: Map<string, LifecycleImage>, current: Map<string, CurrentManifest>): UnitDecision {
  const inUnit = new Set(unit.members.map((m) => m.digest));
  const going = new Set(inUnit);
  const skipped = new Map<string, string>();
  const drop = (digest: string, reason: string) => {
    if (going.delete(digest)) skipped.set(digest, reason);
  };
  for (const m of unit.members) {
    const now = current.get(m.digest);
    if (!now) drop(m.digest, 'already deleted');
    else if (!sameTags(now.tags, m.tags)) drop(m.digest, `its tags changed since the evaluation (now ${now.tags.length > 0 ? now.tags.join(', ') : 'untagged'})`);
  }
  const anchorOf = (m: Expiry): string | undefined => {
    if (m.digest === unit.root) return undefined;
    const subject = images.get(m.digest)?.subject;
    if (subject !== undefined && inUnit.has(subject)) return subject;
    const index = unit.members.find((p) => images.get(p.digest)?.children.includes(m.digest));
    if (index) return index.digest;
    return m.withDigest !== undefined && inUnit.has(m.withDigest) ? m.withDigest : unit.root;
  };
  // Dropping one member can strand others: repeat until nothing changes (units are small).
  let changed = true;
  while (changed) {
    changed = false;
    for (const m of unit.members) {
      if (!going.has(m.digest)) continue;
      const anchor = anchorOf(m);
      if (anchor !== undefined && !going.has(anchor)) {
        drop(m.digest, `it goes with ${anchor}, which stays`);
        changed = true;
        continue;
      }
      const parent = current.get(m.digest)?.listedBy.find((p) => !going.has(p));
      if (parent !== undefined) {
        drop(m.digest, `index ${parent} lists it`);
        changed = true;
      }
    }
  }
  return { remove: unit.members.filter((m) => going.has(m.digest)).map((m) => m.digest), skipped };
}

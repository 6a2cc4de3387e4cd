/**
 * Decides which manifests a lifecycle policy expires. Pure: the preview, the dry run and the
 * real run call this with the same inputs and get the same answer.
 *
 * ECR's semantics (user guide, "How lifecycle policies work" and "Examples of lifecycle
 * policies"):
 * - rules apply in rulePriority order, lowest number first;
 * - an image is expired by at most one rule;
 * - an image that matches a rule's tag selection can never be expired by a later rule, but it
 *   still counts (takes a place) in a later imageCountMoreThan rule that selects it;
 * - imageCountMoreThan keeps the newest countNumber images by push time and expires the rest;
 *   sinceImagePushed / sinceImagePulled expire images pushed / last pulled more than
 *   countNumber days before `now` (never pulled: push time);
 * - tagPrefixList / tagPatternList select an image when every entry matches one of its tags.
 *
 * Where Wharf does better than ECR: an image index and its platform manifests, and a manifest
 * and its referrers (signatures, SBOMs, attestations), are one unit. Only units are selected
 * and counted; a member goes when everything that holds it goes, and never while an index that
 * lists it stays. See `buildGraph` and `settle`.
 */
import { wildcardMatch } from '../registry/wildcard.js';
import type { Expiry, LifecycleImage, LifecyclePolicy, LifecycleRule } from './types.js';

const DAY_MS = 86_400_000;

/** Code-unit order: the same on every machine, unlike localeCompare. */
const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// ---- units ---------------------------------------------------------------------------------

interface Graph {
  byDigest: Map<string, LifecycleImage>;
  /** What holds a manifest: the present indexes listing it, and its subject when present. */
  holders: Map<string, Set<string>>;
  /** The reverse of `holders`. */
  held: Map<string, Set<string>>;
  /** Present indexes listing a manifest (a subset of its holders). */
  indexes: Map<string, Set<string>>;
  /** Manifests the rules see: nothing holds them, or they are an index's child with tags of their own. */
  units: LifecycleImage[];
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function buildGraph(images: LifecycleImage[]): Graph {
  const byDigest = new Map<string, LifecycleImage>();
  for (const img of images) {
    // Two entries for one digest would make "expires at most once" meaningless.
    if (byDigest.has(img.digest)) throw new Error(`evaluateLifecycle: digest ${img.digest} is listed twice`);
    byDigest.set(img.digest, img);
  }
  const holders = new Map<string, Set<string>>();
  const held = new Map<string, Set<string>>();
  const indexes = new Map<string, Set<string>>();
  const hold = (holder: string, member: string): void => {
    // References to manifests this repository does not have are not edges (a dangling
    // referrer is its own unit); neither is a manifest naming itself.
    if (holder === member || !byDigest.has(member) || !byDigest.has(holder)) return;
    addTo(holders, member, holder);
    addTo(held, holder, member);
  };
  for (const img of images) {
    for (const child of img.children) {
      hold(img.digest, child);
      if (byDigest.has(child) && child !== img.digest) addTo(indexes, child, img.digest);
    }
    if (img.subject !== undefined) hold(img.subject, img.digest);
  }
  const units = images.filter((img) => !holders.has(img.digest) || (indexes.has(img.digest) && img.tags.length > 0));
  return { byDigest, holders, held, indexes, units };
}

// ---- rules ---------------------------------------------------------------------------------

/** `*` is any run of characters (possibly none); everything else is literal; the whole tag must match. */
export function matchesTagPattern(pattern: string, tag: string): boolean {
  return wildcardMatch(pattern, tag);
}

/** Whether a rule's tag selection picks an image (ECR's "tagging requirements of a rule"). */
function selects(selection: LifecycleRule['selection'], tags: string[]): boolean {
  switch (selection.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return tags.length === 0;
    case 'tagged': {
      if (tags.length === 0) return false;
      // Every entry must match at least one of the image's tags (AND across entries).
      const { tagPatternList, tagPrefixList } = selection;
      if (tagPatternList) return tagPatternList.every((p) => tags.some((t) => matchesTagPattern(p, t)));
      if (tagPrefixList) return tagPrefixList.every((p) => tags.some((t) => t.startsWith(p)));
      return true;
    }
  }
}

/** Newest first; equal push times order by digest so the kept set never depends on input order. */
function newestFirst(a: LifecycleImage, b: LifecycleImage): number {
  return b.pushedAt.getTime() - a.pushedAt.getTime() || byString(a.digest, b.digest);
}

/** The selected images the rule's count condition marks. */
function marked(selection: LifecycleRule['selection'], selected: LifecycleImage[], now: Date): LifecycleImage[] {
  const limit = now.getTime() - selection.countNumber * DAY_MS;
  switch (selection.countType) {
    case 'imageCountMoreThan':
      return [...selected].sort(newestFirst).slice(selection.countNumber);
    case 'sinceImagePushed':
      // "More than N days": an image exactly N days old stays.
      return selected.filter((img) => img.pushedAt.getTime() < limit);
    case 'sinceImagePulled':
      // ECR: an image never pulled counts from its push.
      return selected.filter((img) => (img.lastPulledAt ?? img.pushedAt).getTime() < limit);
  }
}

/** digest -> rulePriority of the rule that expires it, over units only. */
function applyRules(policy: LifecyclePolicy, units: LifecycleImage[], now: Date): Map<string, number> {
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const claimed = new Set<string>(); // selected by an earlier rule: no later rule may expire it
  const expiredBy = new Map<string, number>();
  for (const rule of rules) {
    const selected = units.filter((img) => selects(rule.selection, img.tags));
    for (const img of marked(rule.selection, selected, now)) {
      if (!claimed.has(img.digest)) expiredBy.set(img.digest, rule.rulePriority);
    }
    for (const img of selected) claimed.add(img.digest);
  }
  return expiredBy;
}

// ---- units settle --------------------------------------------------------------------------

interface Fate {
  rulePriority: number;
  /** The unit whose rule decided it (itself for a unit a rule expired). */
  root: string;
  /** 0 for a unit a rule expired; otherwise one more than its deepest holder. */
  depth: number;
}

/** Group order of the output: rule, then the unit's push time, then the unit's digest. */
function compareRoots(graph: Graph, a: Fate, b: Fate): number {
  const ra = graph.byDigest.get(a.root) as LifecycleImage; // roots are always present
  const rb = graph.byDigest.get(b.root) as LifecycleImage;
  return a.rulePriority - b.rulePriority || ra.pushedAt.getTime() - rb.pushedAt.getTime() || byString(a.root, b.root);
}

/**
 * From the units the rules expire, everything that goes with them: a manifest goes once every
 * holder has gone (an index's child no other surviving index lists; a referrer whose subject
 * goes). A tagged child is a unit and only goes by a rule. Worklist over holder counts: linear
 * in the edges, and cycles (possible only in malformed input) simply never go.
 */
function propagate(graph: Graph, roots: Map<string, number>): Map<string, Fate> {
  const fates = new Map<string, Fate>();
  const queue = [...roots.keys()].sort(byString);
  for (const d of queue) fates.set(d, { rulePriority: roots.get(d) as number, root: d, depth: 0 });
  const remaining = new Map<string, number>();
  const units = new Set(graph.units.map((u) => u.digest));
  for (let i = 0; i < queue.length; i++) {
    const digest = queue[i] as string;
    for (const member of [...(graph.held.get(digest) ?? [])].sort(byString)) {
      if (units.has(member) || fates.has(member)) continue;
      const holders = graph.holders.get(member) as Set<string>; // a held manifest has holders
      const left = (remaining.get(member) ?? holders.size) - 1;
      remaining.set(member, left);
      if (left > 0) continue;
      // Every holder has gone; credit the one whose unit sorts last, i.e. the rule without
      // which it would have stayed, so a member is listed after all of its holders.
      const holderFates = [...holders].map((h) => fates.get(h) as Fate);
      const credit = holderFates.reduce((best, f) => (compareRoots(graph, f, best) > 0 ? f : best));
      const depth = 1 + Math.max(...holderFates.map((f) => f.depth));
      fates.set(member, { rulePriority: credit.rulePriority, root: credit.root, depth });
      queue.push(member);
    }
  }
  return fates;
}

/**
 * ECR: "If an image is referenced by a manifest list, it cannot be expired without the manifest
 * list being deleted first." A tagged child a rule expires therefore goes only if every index
 * listing it goes too; otherwise it stays (still claimed by its rule). Dropping one can only
 * keep more, so this shrinks to a fixed point.
 */
function settle(graph: Graph, expiredBy: Map<string, number>): Map<string, Fate> {
  const roots = new Map(expiredBy);
  for (;;) {
    const fates = propagate(graph, roots);
    const blocked = [...roots.keys()].filter((d) => [...(graph.indexes.get(d) ?? [])].some((i) => !fates.has(i)));
    if (blocked.length === 0) return fates;
    for (const d of blocked) roots.delete(d);
  }
}

// ---- output --------------------------------------------------------------------------------

/**
 * Orders the expiries: by rulePriority, then the unit's push time (oldest first, as ECR expires
 * older images first), then the unit's digest; within a unit the unit itself comes first and its
 * members follow by depth, then push time, then digest. On top of that a manifest is never listed
 * before an expiring manifest that holds it (an index before its children, a subject before its
 * referrers), so deleting in list order never leaves an index naming a deleted child.
 */
function order(graph: Graph, fates: Map<string, Fate>): string[] {
  const sorted = [...fates.keys()].sort((a, b) => {
    const fa = fates.get(a) as Fate;
    const fb = fates.get(b) as Fate;
    const ia = graph.byDigest.get(a) as LifecycleImage;
    const ib = graph.byDigest.get(b) as LifecycleImage;
    return (
      compareRoots(graph, fa, fb) ||
      fa.depth - fb.depth ||
      ia.pushedAt.getTime() - ib.pushedAt.getTime() ||
      byString(a, b)
    );
  });
  // Only a tagged child expired by an earlier rule than its index can break holders-first;
  // hoist expiring holders in front of it, keeping the sorted order otherwise.
  const out: string[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (d: string): void => {
    if (placed.has(d) || visiting.has(d)) return;
    visiting.add(d);
    for (const h of [...(graph.holders.get(d) ?? [])].sort(byString)) if (fates.has(h)) place(h);
    visiting.delete(d);
    placed.add(d);
    out.push(d);
  };
  for (const d of sorted) place(d);
  return out;
}

/**
 * The manifests `policy` expires among `images` (one repository's manifests) at `now`.
 * Every digest appears at most once; the order is described at `order` above. A manifest that
 * goes only because its unit goes carries `withDigest` (the unit's digest) and the unit's rule.
 * Throws if `images` lists a digest twice.
 */
export function evaluateLifecycle(policy: LifecyclePolicy, images: LifecycleImage[], now: Date): Expiry[] {
  const graph = buildGraph(images);
  const fates = settle(graph, applyRules(policy, graph.units, now));
  return order(graph, fates).map((digest) => {
    const img = graph.byDigest.get(digest) as LifecycleImage;
    const fate = fates.get(digest) as Fate;
    const expiry: Expiry = { digest, tags: [...img.tags], pushedAt: img.pushedAt, rulePriority: fate.rulePriority, size: img.size };
    if (fate.root !== digest) expiry.withDigest = fate.root;
    return expiry;
  });
}

// plan.ts, table-driven: deletion order (a manifest before what it names), units, and the
// re-decision against the database as it is at deletion time.
import { describe, expect, it } from 'vitest';
import type { CurrentManifest } from '../../src/metadata/lifecycle-store.js';
import { decideUnit, deletionOrder, planExpiries } from '../../src/lifecycle/plan.js';
import type { Expiry, LifecycleImage } from '../../src/lifecycle/types.js';

const at = new Date('2024-01-01T00:00:00Z');

function image(digest: string, opts: Partial<LifecycleImage> = {}): LifecycleImage {
  return { digest, tags: [], pushedAt: at, mediaType: 'application/vnd.oci.image.manifest.v1+json', children: [], size: 10, ...opts };
}

function expiry(digest: string, opts: Partial<Expiry> = {}): Expiry {
  return { digest, tags: [], pushedAt: at, rulePriority: 1, size: 10, ...opts };
}

function current(digest: string, opts: Partial<CurrentManifest> = {}): [string, CurrentManifest] {
  return [digest, { id: 1, digest, tags: [], listedBy: [], ...opts }];
}

// index I lists children A and B; S is a signature on I; R is a signature on A.
const images = new Map(
  [image('I', { children: ['A', 'B'] }), image('A'), image('B'), image('S', { subject: 'I' }), image('R', { subject: 'A' }), image('X', { tags: ['x'] })].map((i) => [i.digest, i]),
);
const unit = [expiry('I'), expiry('A', { withDigest: 'I' }), expiry('B', { withDigest: 'I' }), expiry('S', { withDigest: 'I' }), expiry('R', { withDigest: 'I' })];

describe('deletion order', () => {
  it('puts each manifest before every manifest whose digest it names, keeping the engine order otherwise', () => {
    const order = deletionOrder(unit, images).map((e) => e.digest);
    const before = (a: string, b: string) => expect(order.indexOf(a)).toBeLessThan(order.indexOf(b));
    before('I', 'A');
    before('I', 'B');
    before('S', 'I');
    before('R', 'A');
    expect(order).toEqual(['S', 'I', 'B', 'R', 'A']);
  });

  it('groups by the unit a rule chose and orders units by their first member', () => {
    const plan = planExpiries([expiry('X', { tags: ['x'] }), ...unit], images);
    expect(plan.map((u) => [u.root, u.members.map((m) => m.digest)])).toEqual([
      ['X', ['X']],
      ['I', ['S', 'I', 'B', 'R', 'A']],
    ]);
  });
});

describe('decideUnit', () => {
  const [plan] = planExpiries(unit, images);
  const all = () => new Map([current('I'), current('A', { listedBy: ['I'] }), current('B', { listedBy: ['I'] }), current('S'), current('R')]);

  it('removes the whole unit when nothing changed', () => {
    expect(decideUnit(plan!, images, all())).toEqual({ remove: ['S', 'I', 'B', 'R', 'A'], skipped: new Map() });
  });

  it('keeps everything when the root was tagged meanwhile', () => {
    const now = all();
    now.get('I')!.tags = ['rescued'];
    const d = decideUnit(plan!, images, now);
    expect(d.remove).toEqual([]);
    expect(d.skipped.get('I')).toBe('its tags changed since the evaluation (now rescued)');
    expect(d.skipped.get('A')).toBe('it goes with I, which stays');
    expect(d.skipped.get('S')).toBe('it goes with I, which stays');
    expect(d.skipped.get('R')).toBe('it goes with A, which stays');
  });

  it('keeps a child a new index lists, and its referrer, and removes the rest', () => {
    const now = all();
    now.get('A')!.listedBy = ['I', 'NEW'];
    const d = decideUnit(plan!, images, now);
    expect(d.remove).toEqual(['S', 'I', 'B']);
    expect(d.skipped.get('A')).toBe('index NEW lists it');
    expect(d.skipped.get('R')).toBe('it goes with A, which stays');
  });

  it('reports members deleted meanwhile', () => {
    const now = all();
    now.delete('B');
    const d = decideUnit(plan!, images, now);
    expect(d.remove).toEqual(['S', 'I', 'R', 'A']);
    expect(d.skipped.get('B')).toBe('already deleted');
  });
});

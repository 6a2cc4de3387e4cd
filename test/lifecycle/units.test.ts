// evaluateLifecycle with image indexes and referrers: where Wharf departs from ECR, an index and
// its platform manifests, and a manifest and its referrers, are one unit.
import { describe, expect, it } from 'vitest';
import { evaluateLifecycle } from '../../src/lifecycle/evaluate.js';
import { parseLifecyclePolicy } from '../../src/lifecycle/policy.js';
import type { Expiry, LifecycleImage } from '../../src/lifecycle/types.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const ago = (days: number): Date => new Date(NOW.getTime() - days * 86_400_000);
const d = (name: string): string => `sha256:${name}`;

function manifest(name: string, tags: string[], days: number, extra: Partial<LifecycleImage> = {}): LifecycleImage {
  return { digest: d(name), tags, pushedAt: ago(days), mediaType: 'application/vnd.oci.image.manifest.v1+json', children: [], size: 10, ...extra };
}

function index(name: string, tags: string[], days: number, children: string[]): LifecycleImage {
  return manifest(name, tags, days, { mediaType: 'application/vnd.oci.image.index.v1+json', children: children.map(d) });
}

/** A referrer (signature, SBOM) of `subject`. */
function referrer(name: string, subject: string, days: number, tags: string[] = []): LifecycleImage {
  return manifest(name, tags, days, { artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', subject: d(subject) });
}

function policy(...selections: Record<string, unknown>[]): ReturnType<typeof parseLifecyclePolicy> {
  const rules = selections.map((selection, i) => ({ rulePriority: i + 1, selection, action: { type: 'expire' } }));
  return parseLifecyclePolicy(JSON.stringify({ rules }, null, 2));
}

const untaggedOlderThan = (days: number) => ({ tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: days });
const keepTagged = (count: number, tagPatternList = ['*']) => ({ tagStatus: 'tagged', tagPatternList, countType: 'imageCountMoreThan', countNumber: count });
const taggedOlderThan = (days: number, tagPatternList: string[]) => ({ tagStatus: 'tagged', tagPatternList, countType: 'sinceImagePushed', countUnit: 'days', countNumber: days });

/** [name, rulePriority, withDigest name or '-'] in result order. */
const rows = (expiries: Expiry[]): [string, number, string][] =>
  expiries.map((e) => [e.digest.slice(7), e.rulePriority, e.withDigest === undefined ? '-' : e.withDigest.slice(7)]);

describe('image index and its children', () => {
  // A multi-platform image as buildx pushes it: a tagged index, untagged platform manifests and
  // an untagged attestation manifest.
  const v1 = [index('v1', ['v1'], 10, ['v1amd', 'v1arm', 'v1att']), manifest('v1amd', [], 10), manifest('v1arm', [], 10), manifest('v1att', [], 10)];
  const v2 = [index('v2', ['v2'], 5, ['v2amd', 'v2arm']), manifest('v2amd', [], 5), manifest('v2arm', [], 5)];

  it('an untagged rule does not see the untagged children of a kept index (ECR would delete them)', () => {
    expect(evaluateLifecycle(policy(untaggedOlderThan(1)), [...v1, ...v2], NOW)).toEqual([]);
  });

  it('children do not take places in a count rule', () => {
    // Units: v1, v2 only. "any, keep 2" keeps both; counting children would expire six manifests.
    const p = policy({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 });
    expect(evaluateLifecycle(p, [...v1, ...v2], NOW)).toEqual([]);
  });

  it('when the index expires its children go with it, credited to the index and its rule', () => {
    const result = evaluateLifecycle(policy(untaggedOlderThan(30), keepTagged(1)), [...v2, ...v1], NOW);
    expect(rows(result)).toEqual([
      ['v1', 2, '-'],
      ['v1amd', 2, 'v1'],
      ['v1arm', 2, 'v1'],
      ['v1att', 2, 'v1'],
    ]);
    expect(result[1]).toEqual({ digest: d('v1amd'), tags: [], pushedAt: ago(10), rulePriority: 2, withDigest: d('v1'), size: 10 });
  });

  it('a child another surviving index still lists stays', () => {
    const images = [
      index('old', ['old'], 10, ['shared', 'onlyOld']),
      index('new', ['new'], 1, ['shared', 'onlyNew']),
      manifest('shared', [], 10),
      manifest('onlyOld', [], 10),
      manifest('onlyNew', [], 1),
    ];
    expect(rows(evaluateLifecycle(policy(keepTagged(1)), images, NOW))).toEqual([
      ['old', 1, '-'],
      ['onlyOld', 1, 'old'],
    ]);
  });

  it('a child of two expiring indexes goes once', () => {
    const images = [
      index('i1', ['a'], 10, ['shared']),
      index('i2', ['b'], 9, ['shared']),
      index('i3', ['c'], 1, []),
      manifest('shared', [], 10),
    ];
    const result = evaluateLifecycle(policy(keepTagged(1)), images, NOW);
    // Credited to the index whose expiry released it last (i2 sorts after i1).
    expect(rows(result)).toEqual([
      ['i1', 1, '-'],
      ['i2', 1, '-'],
      ['shared', 1, 'i2'],
    ]);
  });

  it('a manifest no present index lists is its own unit; a listed child that is absent is ignored', () => {
    const images = [manifest('orphan', [], 10), index('other', ['x'], 1, ['missing'])];
    expect(rows(evaluateLifecycle(policy(untaggedOlderThan(1)), images, NOW))).toEqual([['orphan', 1, '-']]);
  });

  it('a nested index and its children go with the outer index', () => {
    const images = [index('outer', ['o'], 10, ['inner']), index('inner', [], 10, ['leaf']), manifest('leaf', [], 10)];
    expect(rows(evaluateLifecycle(policy(taggedOlderThan(5, ['o'])), images, NOW))).toEqual([
      ['outer', 1, '-'],
      ['inner', 1, 'outer'],
      ['leaf', 1, 'outer'],
    ]);
  });
});

describe('a child with tags of its own', () => {
  const images = [index('idx', ['v1'], 10, ['amd', 'arm']), manifest('amd', ['v1-amd64'], 10), manifest('arm', [], 10)];

  it('survives its index when no rule expires it', () => {
    expect(rows(evaluateLifecycle(policy(taggedOlderThan(5, ['v1'])), images, NOW))).toEqual([
      ['idx', 1, '-'],
      ['arm', 1, 'idx'],
    ]);
  });

  it('is a unit rules select, but is not expired while its index stays', () => {
    expect(evaluateLifecycle(policy(taggedOlderThan(5, ['*-amd64'])), images, NOW)).toEqual([]);
  });

  it('an earlier rule selecting it keeps a later rule from expiring it, even when its index goes', () => {
    // Rule 1 selects the child (too young for it); rule 2 marks the child and the index. The
    // index goes, the child stays: it has tags, and rule 1 holds it.
    const p = policy(taggedOlderThan(30, ['*-amd64']), { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 });
    const withNewer = [...images, index('idx2', ['v2'], 1, [])];
    expect(rows(evaluateLifecycle(p, withNewer, NOW))).toEqual([
      ['idx', 2, '-'],
      ['arm', 2, 'idx'],
    ]);
  });

  it('goes by its own rule when its index goes too, and is listed after the index', () => {
    const result = evaluateLifecycle(policy(taggedOlderThan(5, ['*-amd64']), taggedOlderThan(5, ['v1'])), images, NOW);
    expect(rows(result)).toEqual([
      ['idx', 2, '-'],
      ['amd', 1, '-'],
      ['arm', 2, 'idx'],
    ]);
  });
});

describe('referrers', () => {
  it('go with their subject, recursively (a signature of an SBOM)', () => {
    const images = [
      manifest('app1', ['v1'], 10),
      manifest('app2', ['v2'], 1),
      referrer('sig1', 'app1', 10),
      referrer('sbom1', 'app1', 9),
      referrer('sbomSig1', 'sbom1', 9),
      referrer('sig2', 'app2', 1),
    ];
    expect(rows(evaluateLifecycle(policy(keepTagged(1)), images, NOW))).toEqual([
      ['app1', 1, '-'],
      ['sig1', 1, 'app1'],
      ['sbom1', 1, 'app1'],
      ['sbomSig1', 1, 'app1'],
    ]);
  });

  it('are not selected on their own: an untagged rule leaves a kept image\'s signatures alone', () => {
    const images = [manifest('app', ['v1'], 50), referrer('sig', 'app', 50), referrer('sbom', 'app', 50)];
    expect(evaluateLifecycle(policy(untaggedOlderThan(1)), images, NOW)).toEqual([]);
  });

  it('do not take places in a count rule', () => {
    // Units: u1, u2. Were the (newest) signature counted, u2 would go too.
    const images = [manifest('u1', [], 3), manifest('u2', [], 2), manifest('app', ['v1'], 5), referrer('sig', 'app', 0.5)];
    const p = policy({ tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 });
    expect(rows(evaluateLifecycle(p, images, NOW))).toEqual([['u1', 1, '-']]);
  });

  it('a referrer with tags still goes with its subject', () => {
    const images = [manifest('app', ['v1'], 10), referrer('sig', 'app', 10, ['sha256-app.sig']), manifest('newer', ['v2'], 1)];
    expect(rows(evaluateLifecycle(policy(keepTagged(1, ['v*'])), images, NOW))).toEqual([
      ['app', 1, '-'],
      ['sig', 1, 'app'],
    ]);
  });

  it('a referrer of an index\'s child goes with the index', () => {
    const images = [index('idx', ['v1'], 10, ['amd']), manifest('amd', [], 10), referrer('amdSig', 'amd', 10), manifest('newer', ['v2'], 1)];
    expect(rows(evaluateLifecycle(policy(keepTagged(1)), images, NOW))).toEqual([
      ['idx', 1, '-'],
      ['amd', 1, 'idx'],
      ['amdSig', 1, 'idx'],
    ]);
  });

  it('a dangling referrer (subject absent) is its own unit', () => {
    const images = [referrer('lost', 'gone', 10), manifest('app', ['v1'], 10), referrer('kept', 'app', 10)];
    expect(rows(evaluateLifecycle(policy(untaggedOlderThan(1)), images, NOW))).toEqual([['lost', 1, '-']]);
  });

  it('a dangling referrer takes a place in a count rule like any unit', () => {
    const images = [referrer('lost', 'gone', 1), manifest('u', [], 5)];
    const p = policy({ tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 });
    expect(rows(evaluateLifecycle(p, images, NOW))).toEqual([['u', 1, '-']]);
  });
});

describe('robustness', () => {
  // A repository mixing every kind of manifest, evaluated under a three-rule policy.
  const repo = [
    index('idxA', ['release-1'], 40, ['a1', 'a2']),
    manifest('a1', [], 40),
    manifest('a2', ['release-1-arm64'], 40),
    referrer('a1sig', 'a1', 39),
    index('idxB', ['release-2'], 20, ['b1', 'shared']),
    index('idxC', ['release-3'], 2, ['c1', 'shared']),
    manifest('b1', [], 20),
    manifest('c1', [], 2),
    manifest('shared', [], 20),
    manifest('u1', [], 15),
    manifest('u2', [], 3),
    referrer('dangling', 'nothere', 12),
    manifest('dev', ['dev-x'], 60),
    referrer('devSbom', 'dev', 60),
    referrer('devSbomSig', 'devSbom', 60),
  ];
  const p = policy(keepTagged(1, ['release-*']), untaggedOlderThan(7), { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 50 });

  it('gives the expected result', () => {
    // Rule 1 (release-*, keep 1): units idxA, a2 (tagged child, matches "release-*"), idxB,
    // idxC; keeps idxC, marks idxB, idxA, a2 (a2 may go: its only index idxA goes).
    // Rule 2 (untagged > 7 days): units u1, u2, dangling -> u1, dangling.
    // Rule 3 (any > 50 days): dev (with its SBOM and the SBOM's signature).
    expect(rows(evaluateLifecycle(p, repo, NOW))).toEqual([
      ['idxA', 1, '-'],
      ['a2', 1, '-'],
      ['a1', 1, 'idxA'],
      ['a1sig', 1, 'idxA'],
      ['idxB', 1, '-'],
      ['b1', 1, 'idxB'],
      ['u1', 2, '-'],
      ['dangling', 2, '-'],
      ['dev', 3, '-'],
      ['devSbom', 3, 'dev'],
      ['devSbomSig', 3, 'dev'],
    ]);
  });

  it('does not depend on input order and never lists a digest twice', () => {
    const expected = evaluateLifecycle(p, repo, NOW);
    const digests = expected.map((e) => e.digest);
    expect(new Set(digests).size).toBe(digests.length);
    for (let shift = 1; shift < repo.length; shift += 3) {
      const rotated = [...repo.slice(shift), ...repo.slice(0, shift)];
      expect(evaluateLifecycle(p, rotated, NOW)).toEqual(expected);
      expect(evaluateLifecycle(p, rotated.reverse(), NOW)).toEqual(expected);
    }
  });

  it('refuses a digest listed twice', () => {
    expect(() => evaluateLifecycle(p, [manifest('x', [], 1), manifest('x', ['t'], 2)], NOW)).toThrow(/sha256:x is listed twice/);
  });

  it('terminates on malformed cycles, which never expire', () => {
    const images = [
      manifest('self', [], 10, { subject: d('self') }), // names itself: its own unit
      manifest('p', [], 10, { subject: d('q') }),
      manifest('q', [], 10, { subject: d('p') }),
      index('loop', [], 10, ['loop']),
    ];
    expect(rows(evaluateLifecycle(policy(untaggedOlderThan(1)), images, NOW))).toEqual([
      ['loop', 1, '-'],
      ['self', 1, '-'],
    ]);
  });
});

// evaluateLifecycle on plain images: the examples of ECR's user guide ("Examples of lifecycle
// policies") with their documented outcomes, then count, age, pull time, tag matching and order.
// Policies go through parseLifecyclePolicy so the text a user puts is what is evaluated.
import { describe, expect, it } from 'vitest';
import { evaluateLifecycle, matchesTagPattern } from '../../src/lifecycle/evaluate.js';
import { parseLifecyclePolicy } from '../../src/lifecycle/policy.js';
import type { Expiry, LifecycleImage } from '../../src/lifecycle/types.js';

const NOW = new Date('2024-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const ago = (days: number): Date => new Date(NOW.getTime() - days * DAY);

/** An image manifest named `name` (digest sha256:<name>) pushed `days` days before NOW. */
function image(name: string, tags: string[], days: number, extra: Partial<LifecycleImage> = {}): LifecycleImage {
  return {
    digest: `sha256:${name}`,
    tags,
    pushedAt: ago(days),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    children: [],
    size: 1000,
    ...extra,
  };
}

function policy(rules: unknown[]): ReturnType<typeof parseLifecyclePolicy> {
  return parseLifecyclePolicy(JSON.stringify({ rules }, null, 2));
}

const rule = (rulePriority: number, selection: Record<string, unknown>) => ({ rulePriority, selection, action: { type: 'expire' } });
const names = (expiries: Expiry[]): string[] => expiries.map((e) => e.digest.replace('sha256:', ''));
/** name -> rulePriority, to compare as a set with the rule that expired each. */
const byRule = (expiries: Expiry[]): Record<string, number> =>
  Object.fromEntries(expiries.map((e) => [e.digest.replace('sha256:', ''), e.rulePriority]));

describe('ECR documentation: filtering on image age', () => {
  it('untagged images older than 14 days', () => {
    const p = policy([rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 })]);
    const images = [
      image('old', [], 20),
      image('exactly14', [], 14), // not "older than" 14 days
      image('young', [], 3),
      image('taggedOld', ['v1'], 30),
    ];
    expect(byRule(evaluateLifecycle(p, images, NOW))).toEqual({ old: 1 });
  });

  it('images tagged prod* older than 14 days (tagPatternList)', () => {
    const p = policy([rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 })]);
    const images = [image('prodOld', ['prod-1'], 20), image('prodNew', ['prod-2'], 5), image('devOld', ['dev-1'], 20), image('untaggedOld', [], 20)];
    expect(names(evaluateLifecycle(p, images, NOW))).toEqual(['prodOld']);
  });
});

describe('ECR documentation: filtering on image count', () => {
  it('keeps only one untagged image', () => {
    const p = policy([rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 })]);
    const images = [image('u1', [], 5), image('u3', [], 1), image('t', ['v1'], 10), image('u2', [], 3)];
    expect(names(evaluateLifecycle(p, images, NOW)).sort()).toEqual(['u1', 'u2']);
  });
});

describe('ECR documentation: filtering on multiple rules', () => {
  // Image A [beta-1, prod-1] 10 days, B [beta-2, prod-2] 9 days, C [beta-3] 8 days.
  const repo = [image('A', ['beta-1', 'prod-1'], 10), image('B', ['beta-2', 'prod-2'], 9), image('C', ['beta-3'], 8)];
  const keepOne = (priority: number, filter: Record<string, unknown>) =>
    rule(priority, { tagStatus: 'tagged', ...filter, countType: 'imageCountMoreThan', countNumber: 1 });

  it('Example A: prod first, then beta -> only A expires (B was seen by rule 1)', () => {
    const p = policy([keepOne(1, { tagPrefixList: ['prod'] }), keepOne(2, { tagPrefixList: ['beta'] })]);
    expect(byRule(evaluateLifecycle(p, repo, NOW))).toEqual({ A: 1 });
  });

  it('Example B: beta first, then prod -> A and B expire by rule 1', () => {
    const p = policy([keepOne(1, { tagPrefixList: ['beta'] }), keepOne(2, { tagPrefixList: ['prod'] })]);
    expect(byRule(evaluateLifecycle(p, repo, NOW))).toEqual({ A: 1, B: 1 });
  });

  it('the same two examples written with tagPatternList (current user guide)', () => {
    const a = policy([keepOne(1, { tagPatternList: ['prod*'] }), keepOne(2, { tagPatternList: ['beta*'] })]);
    const b = policy([keepOne(1, { tagPatternList: ['beta*'] }), keepOne(2, { tagPatternList: ['prod*'] })]);
    expect(byRule(evaluateLifecycle(a, repo, NOW))).toEqual({ A: 1 });
    expect(byRule(evaluateLifecycle(b, repo, NOW))).toEqual({ A: 1, B: 1 });
  });

  it('rules apply in rulePriority order, not document order', () => {
    const p = policy([keepOne(2, { tagPrefixList: ['beta'] }), keepOne(1, { tagPrefixList: ['prod'] })]);
    expect(byRule(evaluateLifecycle(p, repo, NOW))).toEqual({ A: 1 });
  });
});

describe('ECR documentation: filtering on multiple tags in a single rule', () => {
  it('Example A: images must match every prefix; only C is both matched and older than 5 days', () => {
    const images = [
      image('A', ['alpha-1'], 12),
      image('B', ['beta-1'], 11),
      image('C', ['alpha-2', 'beta-2'], 10),
      image('D', ['alpha-3'], 4),
      image('E', ['beta-3'], 3),
      image('F', ['alpha-4', 'beta-4'], 2),
    ];
    const since = { countType: 'sinceImagePushed', countNumber: 5, countUnit: 'days' };
    const prefixes = policy([rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], ...since })]);
    const patterns = policy([rule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], ...since })]);
    expect(names(evaluateLifecycle(prefixes, images, NOW))).toEqual(['C']);
    expect(names(evaluateLifecycle(patterns, images, NOW))).toEqual(['C']);
  });

  it('Example B: tags are not exclusive; A and B expire, C (newest) stays', () => {
    const images = [image('A', ['alpha-1', 'beta-1', 'gamma-1'], 10), image('B', ['alpha-2', 'beta-2'], 9), image('C', ['alpha-3', 'beta-3', 'gamma-2'], 8)];
    const p = policy([rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], countType: 'imageCountMoreThan', countNumber: 1 })]);
    expect(names(evaluateLifecycle(p, images, NOW)).sort()).toEqual(['A', 'B']);
  });
});

describe('ECR documentation: filtering on all images', () => {
  it('Example A: any, keep one -> A, B and C expire', () => {
    const images = [image('A', ['alpha-1'], 4), image('B', ['beta-1'], 3), image('C', [], 2), image('D', ['alpha-2'], 1)];
    const p = policy([rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })]);
    expect(names(evaluateLifecycle(p, images, NOW)).sort()).toEqual(['A', 'B', 'C']);
  });

  it('Example B: all rule types -> A (rule 1), B (rule 2), D (rule 3)', () => {
    // The guide gives D and E both as "1 day ago" and keeps E; E is the newer of the two
    // here. E at exactly one day also checks that rule 2 ("older than 1 day") spares it.
    const images = [
      image('A', ['alpha-1', 'beta-1'], 4),
      image('B', [], 3),
      image('C', ['alpha-2'], 2),
      image('D', ['git hash'], 1 + 1 / 1440),
      image('E', [], 1),
    ];
    const p = policy([
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha'], countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
      rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
    ]);
    expect(byRule(evaluateLifecycle(p, images, NOW))).toEqual({ A: 1, B: 2, D: 3 });
  });
});

describe('priority interplay', () => {
  it('an image selected by an earlier age rule is protected from a later rule even when too young to expire', () => {
    const images = [image('prodYoung', ['prod-1'], 10), image('dev1', ['dev-1'], 3), image('dev2', ['dev-2'], 2)];
    const p = policy([
      rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 }),
      rule(2, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
    ]);
    // Rule 2 ranks dev2, dev1, prodYoung and marks dev1 and prodYoung; prodYoung is rule 1's.
    expect(byRule(evaluateLifecycle(p, images, NOW))).toEqual({ dev1: 2 });
  });

  it('images of earlier rules still take places in a later count rule', () => {
    const images = [image('p1', ['prod-1'], 1), image('p2', ['prod-2'], 2), image('d1', ['dev-1'], 3), image('d2', ['dev-2'], 4)];
    const p = policy([
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 5 }),
      rule(2, { tagStatus: 'tagged', tagPatternList: ['*-*'], countType: 'imageCountMoreThan', countNumber: 2 }),
    ]);
    // Without p1 and p2 counting, rule 2 would keep d1 and d2.
    expect(byRule(evaluateLifecycle(p, images, NOW))).toEqual({ d1: 2, d2: 2 });
  });
});

describe('count versus age', () => {
  const images = [image('i1', [], 1), image('i2', [], 3), image('i3', [], 6), image('i4', [], 9), image('i5', [], 12)];

  it('imageCountMoreThan 2 keeps the two newest whatever their age', () => {
    const p = policy([rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 2 })]);
    expect(names(evaluateLifecycle(p, images, NOW)).sort()).toEqual(['i3', 'i4', 'i5']);
  });

  it('sinceImagePushed 5 days expires by age whatever the count', () => {
    const p = policy([rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 5 })]);
    expect(names(evaluateLifecycle(p, images, NOW)).sort()).toEqual(['i3', 'i4', 'i5']);
    const p10 = policy([rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 10 })]);
    expect(names(evaluateLifecycle(p10, images, NOW))).toEqual(['i5']);
  });

  it('a count at or above the number of images expires nothing', () => {
    const p = policy([rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 })]);
    expect(evaluateLifecycle(p, images, NOW)).toEqual([]);
  });

  it('equal push times: the smaller digest counts as newer, whatever the input order', () => {
    const same = [image('c', [], 2), image('a', [], 2), image('b', [], 2)];
    const p = policy([rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 })]);
    expect(names(evaluateLifecycle(p, same, NOW))).toEqual(['b', 'c']);
    expect(names(evaluateLifecycle(p, [...same].reverse(), NOW))).toEqual(['b', 'c']);
  });
});

describe('sinceImagePulled', () => {
  const p = policy([rule(1, { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 })]);

  it('counts from the last pull, and from the push when never pulled', () => {
    const images = [
      image('oldPulledRecently', ['v1'], 100, { lastPulledAt: ago(2) }),
      image('oldNeverPulled', ['v2'], 100),
      image('oldPulledLongAgo', [], 100, { lastPulledAt: ago(40) }),
      image('youngNeverPulled', [], 10),
      image('pulledExactly30', [], 100, { lastPulledAt: ago(30) }),
    ];
    expect(names(evaluateLifecycle(p, images, NOW)).sort()).toEqual(['oldNeverPulled', 'oldPulledLongAgo']);
  });
});

describe('untagged and tagged selections', () => {
  it('untagged never selects a tagged image, tagged never an untagged one', () => {
    const images = [image('t', ['v1'], 50), image('u', [], 50)];
    const untagged = policy([rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })]);
    const tagged = policy([rule(1, { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })]);
    expect(names(evaluateLifecycle(untagged, images, NOW))).toEqual(['u']);
    expect(names(evaluateLifecycle(tagged, images, NOW))).toEqual(['t']);
  });

  it('an untagged rule then an any rule: untagged images are the untagged rule\'s alone', () => {
    const images = [image('u1', [], 1), image('u2', [], 2), image('t1', ['a'], 3), image('t2', ['b'], 4)];
    const p = policy([
      rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 90 }),
      rule(2, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 }),
    ]);
    // Rule 2 ranks u1, u2, t1, t2: keeps u1 and u2 (which rule 1 holds anyway), expires t1, t2.
    expect(byRule(evaluateLifecycle(p, images, NOW))).toEqual({ t1: 2, t2: 2 });
  });
});

describe('tagPatternList and tagPrefixList matching', () => {
  const evalTags = (filter: Record<string, unknown>, tags: string[][]): string[] => {
    const images = tags.map((t, i) => image(`i${i}`, t, 10));
    const p = policy([rule(1, { tagStatus: 'tagged', ...filter, countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })]);
    return names(evaluateLifecycle(p, images, NOW)).sort();
  };

  it('every pattern must match some tag (AND), each possibly a different tag', () => {
    expect(evalTags({ tagPatternList: ['prod*', '*-amd64'] }, [['prod-1', 'x-amd64'], ['prod-1'], ['x-amd64'], ['prod-amd64']])).toEqual(['i0', 'i3']);
  });

  it('every prefix must start some tag (AND)', () => {
    expect(evalTags({ tagPrefixList: ['prod', 'v'] }, [['prod-1', 'v1'], ['prod-1'], ['v2'], ['release']])).toEqual(['i0']);
  });

  it('a pattern matches the whole tag; a prefix only its start', () => {
    expect(evalTags({ tagPatternList: ['prod'] }, [['prod'], ['prod-1'], ['preprod']])).toEqual(['i0']);
    expect(evalTags({ tagPrefixList: ['prod'] }, [['prod'], ['prod-1'], ['preprod']])).toEqual(['i0', 'i1']);
  });

  it.each([
    ['prod*', 'prod', true],
    ['prod*', 'prod-1', true],
    ['prod*', 'preprod', false],
    ['*prod*', 'preprod-1', true],
    ['*-amd64', 'v1-amd64', true],
    ['*-amd64', 'v1-amd64-2', false],
    ['v*.*.*', 'v1.2.3', true],
    ['v*.*.*', 'v1.2', false],
    ['v1.*', 'v10', false], // '.' is literal, not "any character"
    ['a?c', 'abc', false], // '?' is literal
    ['a?c', 'a?c', true],
    ['*', 'anything', true],
    ['**', 'x', true],
    ['*a*b*c*d', 'xaybzcwd', true],
    ['*a*b*c*d', 'xaybzcw', false],
    ['a*a*a', 'aaaa', true],
    ['a*a*a', 'aa', false],
    ['Prod*', 'prod-1', false], // case-sensitive, like tags
  ])('pattern %s on tag %s: %s', (pattern, tag, expected) => {
    expect(matchesTagPattern(pattern, tag)).toBe(expected);
  });
});

describe('result', () => {
  it('is ordered by rulePriority, then push time (oldest first), and carries the image\'s details', () => {
    const images = [
      image('x', ['prod-x'], 5, { size: 11 }),
      image('y', ['prod-y'], 9, { size: 22 }),
      image('keep', ['prod-k'], 1),
      image('z', [], 20, { size: 33 }),
    ];
    const p = policy([
      rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], countType: 'imageCountMoreThan', countNumber: 1 }),
    ]);
    expect(evaluateLifecycle(p, images, NOW)).toEqual([
      { digest: 'sha256:y', tags: ['prod-y'], pushedAt: ago(9), rulePriority: 1, size: 22 },
      { digest: 'sha256:x', tags: ['prod-x'], pushedAt: ago(5), rulePriority: 1, size: 11 },
      { digest: 'sha256:z', tags: [], pushedAt: ago(20), rulePriority: 2, size: 33 },
    ]);
  });

  it('copies tags rather than sharing the input array', () => {
    const img = image('a', [], 10);
    const p = policy([rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 })]);
    const [expiry] = evaluateLifecycle(p, [img], NOW);
    expect(expiry?.tags).not.toBe(img.tags);
  });

  it('an empty repository expires nothing', () => {
    const p = policy([rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })]);
    expect(evaluateLifecycle(p, [], NOW)).toEqual([]);
  });
});

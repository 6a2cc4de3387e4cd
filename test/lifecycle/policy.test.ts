// parseLifecyclePolicy: ECR's rule language and the exact texts of its validation errors.
// Expected messages are written out literally (not built from the module's constants) so a
// changed text fails here; where ECR's own text is known it is the one users have reported.
import { describe, expect, it } from 'vitest';
import {
  LIFECYCLE_POLICY_TEXT_MAX_LENGTH,
  LIFECYCLE_POLICY_TEXT_MIN_LENGTH,
  LifecyclePolicyError,
  parseLifecyclePolicy,
} from '../../src/lifecycle/policy.js';

const ecr = (detail: string): string =>
  `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${detail}'`;

/** Policy text for a document, padded with whitespace to ECR's minimum length. */
function text(doc: unknown): string {
  const s = JSON.stringify(doc, null, 2);
  return s.padEnd(100, ' ');
}

const expire = { type: 'expire' };
const untaggedCount = { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 };

function rule(priority: number, selection: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { rulePriority: priority, selection, action: expire, ...extra };
}

function failure(policyText: string): LifecyclePolicyError {
  try {
    parseLifecyclePolicy(policyText);
  } catch (err) {
    if (err instanceof LifecyclePolicyError) return err;
    throw err;
  }
  throw new Error('the policy was accepted');
}

describe('parseLifecyclePolicy accepts ECR documentation policies', () => {
  it('filtering on image age (untagged, 14 days), verbatim from the user guide', () => {
    const policy = parseLifecyclePolicy(`{
      "rules": [
        {
          "rulePriority": 1,
          "description": "Expire images older than 14 days",
          "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 14
          },
          "action": { "type": "expire" }
        }
      ]
    }`);
    expect(policy).toEqual({
      rules: [
        {
          rulePriority: 1,
          description: 'Expire images older than 14 days',
          selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
          action: { type: 'expire' },
        },
      ],
    });
  });

  it('tagPatternList with wildcards, tagPrefixList with several prefixes, and an any rule last', () => {
    const policy = parseLifecyclePolicy(
      text({
        rules: [
          rule(1, { tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }),
          rule(5, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], countType: 'imageCountMoreThan', countNumber: 1 }),
          rule(3, { tagStatus: 'untagged', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 30 }),
          rule(9, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 100 }),
        ],
      }),
    );
    // Document order is kept; evaluation sorts by priority.
    expect(policy.rules.map((r) => r.rulePriority)).toEqual([1, 5, 3, 9]);
    expect(policy.rules[0]?.selection).toEqual({
      tagStatus: 'tagged',
      tagPatternList: ['prod*'],
      countType: 'sinceImagePushed',
      countUnit: 'days',
      countNumber: 14,
    });
    expect(policy.rules[1]?.selection.tagPrefixList).toEqual(['alpha', 'beta']);
    expect(policy.rules[1]?.selection.countUnit).toBeUndefined();
    expect(policy.rules[2]?.selection.countType).toBe('sinceImagePulled');
    expect(policy.rules[0]).not.toHaveProperty('description');
  });

  it('the documented wildcard example ["*test*1*2*3", "test*1*2*3*"] (four each) is valid', () => {
    const policy = parseLifecyclePolicy(
      text({ rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['*test*1*2*3', 'test*1*2*3*'], countType: 'imageCountMoreThan', countNumber: 1 })] }),
    );
    expect(policy.rules[0]?.selection.tagPatternList).toEqual(['*test*1*2*3', 'test*1*2*3*']);
  });

  it('storageClass "standard" (ECR\'s default) is accepted and changes nothing', () => {
    const policy = parseLifecyclePolicy(text({ rules: [rule(1, { ...untaggedCount, storageClass: 'standard' })] }));
    expect(policy.rules[0]?.selection).toEqual({ tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 });
  });

  it('rule priorities need not be sequential', () => {
    const policy = parseLifecyclePolicy(
      text({ rules: [rule(10, untaggedCount), rule(20, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 })] }),
    );
    expect(policy.rules.map((r) => r.rulePriority)).toEqual([10, 20]);
  });
});

describe('lifecyclePolicyText length (ValidationException, as ECR\'s front door reports it)', () => {
  it('exports the API limits', () => {
    expect([LIFECYCLE_POLICY_TEXT_MIN_LENGTH, LIFECYCLE_POLICY_TEXT_MAX_LENGTH]).toEqual([100, 30720]);
  });

  it('refuses 99 characters', () => {
    const err = failure('x'.repeat(99));
    expect(err.exceptionType).toBe('ValidationException');
    expect(err.message).toBe(
      `1 validation error detected: Value '${'x'.repeat(99)}' at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length greater than or equal to 100`,
    );
  });

  it('accepts exactly 30720 characters and refuses 30721, quoting only the first 256', () => {
    const valid = JSON.stringify({ rules: [rule(1, untaggedCount)] });
    expect(() => parseLifecyclePolicy(valid.padEnd(30720, ' '))).not.toThrow();
    const long = valid.padEnd(30721, ' ');
    const err = failure(long);
    expect(err.exceptionType).toBe('ValidationException');
    expect(err.message).toBe(
      `1 validation error detected: Value '${long.slice(0, 256)}...' at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length less than or equal to 30720`,
    );
  });
});

// [case, policy text, the detail after "Lifecycle policy validation failure: "]
const invalid: [string, string, string][] = [
  // -- the document
  ['not JSON', 'rules: - rulePriority: 1'.padEnd(120, ' '), 'Could not map policyString into LifecyclePolicy.'],
  ['a JSON array', text([rule(1, untaggedCount)]), 'Could not map policyString into LifecyclePolicy.'],
  ['no rules', text({ no_rules: 'test' }), 'object has missing required properties (["rules"])'],
  ['rules not a list', text({ rules: rule(1, untaggedCount) }), 'instance type (object) does not match any allowed primitive type (allowed: ["array"])'],
  ['empty rules', text({ rules: [] }), 'array is too short: must have at least 1 elements but instance has 0 elements'],
  ['unknown top-level member', text({ rules: [rule(1, untaggedCount)], version: 2 }), 'object instance has properties which are not allowed by the schema: ["version"]'],
  ['a rule that is a string', text({ rules: ['not_dict'] }), 'instance type (string) does not match any allowed primitive type (allowed: ["object"])'],
  // -- rule members
  ['missing rulePriority', text({ rules: [{ selection: untaggedCount, action: expire }] }), 'object has missing required properties (["rulePriority"])'],
  ['missing selection and action', text({ rules: [{ rulePriority: 1, description: 'x'.repeat(60) }] }), 'object has missing required properties (["selection","action"])'],
  ['unknown rule members, sorted', text({ rules: [rule(1, untaggedCount, { zeta: 1, alpha: 2 })] }), 'object instance has properties which are not allowed by the schema: ["alpha","zeta"]'],
  ['rulePriority 0', text({ rules: [rule(0, untaggedCount)] }), 'numeric instance is lower than the required minimum (minimum: 1, found: 0)'],
  ['rulePriority as a string', text({ rules: [rule('1' as unknown as number, untaggedCount)] }), 'instance type (string) does not match any allowed primitive type (allowed: ["integer"])'],
  ['rulePriority 1.5', text({ rules: [rule(1.5, untaggedCount)] }), 'instance type (number) does not match any allowed primitive type (allowed: ["integer"])'],
  ['rulePriority beyond a Java int', text({ rules: [rule(2 ** 31, untaggedCount)] }), 'Could not map policyString into LifecyclePolicy.'],
  ['description not a string', text({ rules: [rule(1, untaggedCount, { description: 7 })] }), 'instance type (integer) does not match any allowed primitive type (allowed: ["string"])'],
  // -- selection
  ['missing tagStatus', text({ rules: [rule(1, { countType: 'imageCountMoreThan', countNumber: 30 })] }), 'object has missing required properties (["tagStatus"])'],
  ['missing countType', text({ rules: [rule(1, { tagStatus: 'untagged', countNumber: 30 })] }), 'object has missing required properties (["countType"])'],
  ['missing countNumber', text({ rules: [rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan' })] }), 'object has missing required properties (["countNumber"])'],
  ['unknown selection member', text({ rules: [rule(1, { ...untaggedCount, unknown: 123 })] }), 'object instance has properties which are not allowed by the schema: ["unknown"]'],
  ['unknown tagStatus', text({ rules: [rule(1, { ...untaggedCount, tagStatus: 'unknown' })] }), 'instance value ("unknown") not found in enum (possible values: ["tagged","untagged","any"])'],
  ['unknown countType', text({ rules: [rule(1, { ...untaggedCount, countType: 'unknown' })] }), 'instance failed to match exactly one schema (matched 0 out of 2)'],
  ['countUnit with imageCountMoreThan', text({ rules: [rule(1, { ...untaggedCount, countUnit: 'days' })] }), 'instance failed to match exactly one schema (matched 0 out of 2)'],
  ['countUnit null with imageCountMoreThan', text({ rules: [rule(1, { ...untaggedCount, countUnit: null })] }), 'instance failed to match exactly one schema (matched 0 out of 2)'],
  ['sinceImagePushed without countUnit', text({ rules: [rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 14 })] }), 'instance failed to match exactly one schema (matched 0 out of 2)'],
  ['sinceImagePulled without countUnit', text({ rules: [rule(1, { tagStatus: 'untagged', countType: 'sinceImagePulled', countNumber: 14 })] }), 'instance failed to match exactly one schema (matched 0 out of 2)'],
  ['countUnit hours', text({ rules: [rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'hours', countNumber: 14 })] }), 'instance value ("hours") not found in enum (possible values: ["days"])'],
  ['countNumber 0', text({ rules: [rule(1, { ...untaggedCount, countNumber: 0 })] }), 'numeric instance is lower than the required minimum (minimum: 1, found: 0)'],
  ['countNumber -1', text({ rules: [rule(1, { ...untaggedCount, countNumber: -1 })] }), 'numeric instance is lower than the required minimum (minimum: 1, found: -1)'],
  ['countNumber 2.5', text({ rules: [rule(1, { ...untaggedCount, countNumber: 2.5 })] }), 'instance type (number) does not match any allowed primitive type (allowed: ["integer"])'],
  ['countNumber as a string', text({ rules: [rule(1, { ...untaggedCount, countNumber: '5' })] }), 'instance type (string) does not match any allowed primitive type (allowed: ["integer"])'],
  ['sinceImageTransitioned (archive only)', text({ rules: [rule(1, { tagStatus: 'untagged', countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: 9 })] }), 'countType "sinceImageTransitioned" is not supported by this registry: it has no archive storage class.'],
  ['storageClass archive', text({ rules: [rule(1, { ...untaggedCount, storageClass: 'archive' })] }), 'storageClass "archive" is not supported by this registry: it has no archive storage class. Omit storageClass or use "standard".'],
  ['storageClass glacier', text({ rules: [rule(1, { ...untaggedCount, storageClass: 'glacier' })] }), 'instance value ("glacier") not found in enum (possible values: ["standard","archive"])'],
  // -- tag lists
  ['tagged without a list', text({ rules: [rule(1, { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 })] }), 'Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.'],
  ['tagged with an empty tagPrefixList', text({ rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: [], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.'],
  ['tagged with an empty tagPatternList', text({ rules: [rule(1, { tagStatus: 'tagged', tagPatternList: [], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.'],
  ['tagged with both lists', text({ rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], tagPatternList: ['prod*'], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'Must specify either tagPrefixList or tagPatternList, not both.'],
  ['untagged with tagPrefixList', text({ rules: [rule(1, { ...untaggedCount, tagPrefixList: ['prod'] })] }), 'Must not specify tagPrefixList or tagPatternList when tagStatus=UNTAGGED.'],
  ['untagged with tagPatternList', text({ rules: [rule(1, { ...untaggedCount, tagPatternList: ['prod*'] })] }), 'Must not specify tagPrefixList or tagPatternList when tagStatus=UNTAGGED.'],
  ['any with an empty tagPrefixList', text({ rules: [rule(1, { tagStatus: 'any', tagPrefixList: [], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'Must not specify tagPrefixList or tagPatternList when tagStatus=ANY.'],
  ['the documented invalid pattern test*1*2*3*4*5*6', text({ rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['ok*', 'test*1*2*3*4*5*6'], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'Tag pattern "test*1*2*3*4*5*6" has 6 wildcards (*); a tagPatternList entry can have at most 4.'],
  ['five wildcards', text({ rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['*a*b*c*d*'], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'Tag pattern "*a*b*c*d*" has 5 wildcards (*); a tagPatternList entry can have at most 4.'],
  ['tagPrefixList not a list', text({ rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: 'prod', countType: 'imageCountMoreThan', countNumber: 1 })] }), 'instance type (string) does not match any allowed primitive type (allowed: ["array"])'],
  ['tagPatternList with a number', text({ rules: [rule(1, { tagStatus: 'tagged', tagPatternList: ['a*', 7], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'instance type (integer) does not match any allowed primitive type (allowed: ["string"])'],
  ['tagPrefixList with an empty prefix', text({ rules: [rule(1, { tagStatus: 'tagged', tagPrefixList: [''], countType: 'imageCountMoreThan', countNumber: 1 })] }), 'string "" is too short (length: 0, required minimum: 1)'],
  // -- action
  ['missing action type', text({ rules: [rule(1, untaggedCount, { action: {} })] }), 'object has missing required properties (["type"])'],
  ['unknown action member', text({ rules: [rule(1, untaggedCount, { action: { type: 'expire', unknown: 123 } })] }), 'object instance has properties which are not allowed by the schema: ["unknown"]'],
  ['action type keep', text({ rules: [rule(1, untaggedCount, { action: { type: 'keep' } })] }), 'instance value ("keep") not found in enum (possible values: ["expire","transition"])'],
  ['action transition', text({ rules: [rule(1, untaggedCount, { action: { type: 'transition', targetStorageClass: 'archive' } })] }), 'Action type "transition" (archive) is not supported by this registry: it has no archive storage class. The supported action type is "expire".'],
  ['expire with targetStorageClass', text({ rules: [rule(1, untaggedCount, { action: { type: 'expire', targetStorageClass: null } })] }), 'instance failed to match exactly one schema (matched 0 out of 2)'],
  // -- the rules together
  ['duplicate rulePriority', text({ rules: [rule(2, untaggedCount), rule(2, { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 3 })] }), 'Rule priority 2 is used by more than one rule; each rule must have a unique rulePriority.'],
  ['two untagged rules', text({ rules: [rule(1, untaggedCount), rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 })] }), 'Only one rule can select Untagged images.'],
  ['any rule before a tagged rule', text({ rules: [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 }), rule(2, { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 3 })] }), 'Rule for tagStatus=ANY must have the lowest priority.'],
  ['any rule listed last but numbered lower', text({ rules: [rule(7, untaggedCount), rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 })] }), 'Rule for tagStatus=ANY must have the lowest priority.'],
  ['two any rules', text({ rules: [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 }), rule(2, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 5 })] }), 'Rule for tagStatus=ANY must have the lowest priority.'],
];

describe('parseLifecyclePolicy refuses what ECR refuses, with ECR\'s message', () => {
  it.each(invalid)('%s', (_name, policyText, detail) => {
    const err = failure(policyText);
    expect(err.exceptionType).toBe('InvalidParameterException');
    expect(err.detail).toBe(detail);
    expect(err.message).toBe(ecr(detail));
  });

  it('LifecyclePolicyError is an Error', () => {
    const err = failure(text({ rules: [] }));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('LifecyclePolicyError');
  });

  it('reports the first failing rule in document order', () => {
    const err = failure(text({ rules: [rule(1, { ...untaggedCount, countNumber: 0 }), rule(-3, untaggedCount)] }));
    expect(err.detail).toBe('numeric instance is lower than the required minimum (minimum: 1, found: 0)');
    expect(failure(text({ rules: [rule(1, untaggedCount), rule(2, { ...untaggedCount, tagStatus: 'nope' })] })).detail).toBe(
      'instance value ("nope") not found in enum (possible values: ["tagged","untagged","any"])',
    );
  });
});

/**
 * ECR lifecycle policy text -> validated LifecyclePolicy. Pure: no database, no HTTP.
 *
 * ECR validates the text against a JSON schema (its messages are those of the Java
 * json-schema-validator it uses: "object has missing required properties (...)",
 * "instance failed to match exactly one schema (...)") and then checks the rules against each
 * other ("Only one rule can select Untagged images."). Every failure reaches the caller as
 * InvalidParameterException with the message
 *   Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: <detail>'
 * which LifecyclePolicyError carries verbatim, so PutLifecyclePolicy and
 * StartLifecyclePolicyPreview report the same text. Checks run in a fixed order and the first
 * failure wins, so a given text always yields the same message.
 */
import type { CountType, LifecyclePolicy, LifecycleRule, TagStatus } from './types.js';

/** PutLifecyclePolicy / StartLifecyclePolicyPreview: lifecyclePolicyText length, in UTF-16 code units. */
export const LIFECYCLE_POLICY_TEXT_MIN_LENGTH = 100;
export const LIFECYCLE_POLICY_TEXT_MAX_LENGTH = 30720;
/** ECR: "There is a maximum limit of four wildcards (*) per string" in tagPatternList. */
export const MAX_TAG_PATTERN_WILDCARDS = 4;
/** ECR maps rulePriority and countNumber to Java ints; a larger number cannot be mapped. */
export const MAX_LIFECYCLE_INTEGER = 2_147_483_647;

export const TAG_STATUSES: readonly TagStatus[] = ['tagged', 'untagged', 'any'];
export const COUNT_TYPES: readonly CountType[] = ['imageCountMoreThan', 'sinceImagePushed', 'sinceImagePulled'];

export type LifecyclePolicyExceptionType = 'InvalidParameterException' | 'ValidationException';

/**
 * A policy ECR would refuse. `message` is the whole text of the ECR error; `detail` is the part
 * after "Lifecycle policy validation failure: " (for logs and the CLI); `exceptionType` is the
 * ECR exception to raise: ValidationException only for the text's length, which ECR's front door
 * checks before the policy is looked at (src/ecr-api/validate.ts does the same from the model).
 */
export class LifecyclePolicyError extends Error {
  readonly exceptionType: LifecyclePolicyExceptionType;
  readonly detail: string;

  constructor(detail: string, exceptionType: LifecyclePolicyExceptionType = 'InvalidParameterException', message?: string) {
    super(
      message ?? `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${detail}'`,
    );
    this.name = 'LifecyclePolicyError';
    this.detail = detail;
    this.exceptionType = exceptionType;
  }
}

// ---- messages ------------------------------------------------------------------------------
// Texts ECR is known to return (from its error responses as users have reported them):
const COULD_NOT_MAP = 'Could not map policyString into LifecyclePolicy.';
const ONE_OF_FAILED = 'instance failed to match exactly one schema (matched 0 out of 2)';
const TAGGED_NEEDS_LIST = 'Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.';
const ONE_UNTAGGED_RULE = 'Only one rule can select Untagged images.';
const ANY_RULE_LAST = 'Rule for tagStatus=ANY must have the lowest priority.';

/** A JSON value as the schema validator names its type. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value; // string, boolean, object
}

const list = (names: readonly string[]): string => JSON.stringify(names);
const typeMismatch = (value: unknown, allowed: string): string =>
  `instance type (${jsonType(value)}) does not match any allowed primitive type (allowed: ${list([allowed])})`;
const notInEnum = (value: unknown, allowed: readonly string[]): string =>
  `instance value (${JSON.stringify(value)}) not found in enum (possible values: ${list(allowed)})`;

// Written in ECR's style where ECR's own text is not known:
const notUnique = (priority: number): string =>
  `Rule priority ${priority} is used by more than one rule; each rule must have a unique rulePriority.`;
const listsNotAllowed = (status: TagStatus): string =>
  `Must not specify tagPrefixList or tagPatternList when tagStatus=${status.toUpperCase()}.`;
const BOTH_LISTS = 'Must specify either tagPrefixList or tagPatternList, not both.';
const tooManyWildcards = (pattern: string, count: number): string =>
  `Tag pattern ${JSON.stringify(pattern)} has ${count} wildcards (*); a tagPatternList entry can have at most ${MAX_TAG_PATTERN_WILDCARDS}.`;
// ECR accepts these (archive storage); Wharf has no archive tier, so it says so instead of
// pretending the words are unknown.
const TRANSITION_UNSUPPORTED =
  'Action type "transition" (archive) is not supported by this registry: it has no archive storage class. The supported action type is "expire".';
const ARCHIVE_UNSUPPORTED =
  'storageClass "archive" is not supported by this registry: it has no archive storage class. Omit storageClass or use "standard".';
const TRANSITIONED_UNSUPPORTED =
  'countType "sinceImageTransitioned" is not supported by this registry: it has no archive storage class.';

// ---- schema walking ------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

function fail(detail: string): never {
  throw new LifecyclePolicyError(detail);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const has = (o: JsonObject, key: string): boolean => Object.hasOwn(o, key);

/** The object checks of the schema: type, then required members, then members it does not know. */
function checkObject(value: unknown, required: readonly string[], allowed: readonly string[]): JsonObject {
  if (!isObject(value)) fail(typeMismatch(value, 'object'));
  const missing = required.filter((k) => !has(value, k));
  if (missing.length > 0) fail(`object has missing required properties (${list(missing)})`);
  const unknown = Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .sort();
  if (unknown.length > 0) fail(`object instance has properties which are not allowed by the schema: ${list(unknown)}`);
  return value;
}

function checkString(value: unknown): string {
  if (typeof value !== 'string') fail(typeMismatch(value, 'string'));
  return value;
}

/** An integer >= 1 that fits the Java int ECR maps it to. */
function checkCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(typeMismatch(value, 'integer'));
  if (value < 1) fail(`numeric instance is lower than the required minimum (minimum: 1, found: ${value})`);
  if (value > MAX_LIFECYCLE_INTEGER) fail(COULD_NOT_MAP);
  return value;
}

/** tagPrefixList / tagPatternList: an array of non-empty strings (an empty string would select every tag). */
function checkTagList(value: unknown): string[] {
  if (!Array.isArray(value)) fail(typeMismatch(value, 'array'));
  return value.map((item) => {
    const s = checkString(item);
    if (s.length === 0) fail('string "" is too short (length: 0, required minimum: 1)');
    return s;
  });
}

// ---- one rule ------------------------------------------------------------------------------

type Selection = LifecycleRule['selection'];

function parseCount(sel: JsonObject): Pick<Selection, 'countType' | 'countUnit' | 'countNumber'> {
  const countType = checkString(sel.countType);
  if (countType === 'sinceImageTransitioned') fail(TRANSITIONED_UNSUPPORTED);
  // The schema is a oneOf of two selection shapes: by count (no countUnit) and by age
  // (countUnit required). A countType that is neither, or a countUnit on the wrong shape
  // (even null), matches neither, and ECR reports only that.
  if (!(COUNT_TYPES as readonly string[]).includes(countType)) fail(ONE_OF_FAILED);
  const countNumber = checkCount(sel.countNumber);
  if (countType === 'imageCountMoreThan') {
    if (has(sel, 'countUnit')) fail(ONE_OF_FAILED);
    return { countType, countNumber };
  }
  if (!has(sel, 'countUnit')) fail(ONE_OF_FAILED);
  const countUnit = checkString(sel.countUnit);
  if (countUnit !== 'days') fail(notInEnum(countUnit, ['days']));
  return { countType: countType as CountType, countUnit, countNumber };
}

function parseTagFilter(sel: JsonObject, tagStatus: TagStatus): Pick<Selection, 'tagPrefixList' | 'tagPatternList'> {
  const prefixes = has(sel, 'tagPrefixList') ? checkTagList(sel.tagPrefixList) : undefined;
  const patterns = has(sel, 'tagPatternList') ? checkTagList(sel.tagPatternList) : undefined;
  if (tagStatus !== 'tagged') {
    if (prefixes !== undefined || patterns !== undefined) fail(listsNotAllowed(tagStatus));
    return {};
  }
  if (prefixes !== undefined && patterns !== undefined) fail(BOTH_LISTS);
  // An empty list selects nothing by name; ECR wants the tags to act on spelled out.
  if ((prefixes ?? patterns ?? []).length === 0) fail(TAGGED_NEEDS_LIST);
  if (prefixes) return { tagPrefixList: prefixes };
  for (const p of patterns ?? []) {
    const wildcards = p.split('*').length - 1;
    if (wildcards > MAX_TAG_PATTERN_WILDCARDS) fail(tooManyWildcards(p, wildcards));
  }
  return { tagPatternList: patterns };
}

function parseSelection(value: unknown): Selection {
  const sel = checkObject(
    value,
    ['tagStatus', 'countType', 'countNumber'],
    ['tagStatus', 'tagPatternList', 'tagPrefixList', 'storageClass', 'countType', 'countUnit', 'countNumber'],
  );
  const tagStatus = checkString(sel.tagStatus);
  if (!(TAG_STATUSES as readonly string[]).includes(tagStatus)) fail(notInEnum(tagStatus, TAG_STATUSES));
  if (has(sel, 'storageClass')) {
    // "standard" is ECR's default and the only class Wharf has: accepted so that policies
    // written for today's ECR parse unchanged.
    const storageClass = checkString(sel.storageClass);
    if (storageClass === 'archive') fail(ARCHIVE_UNSUPPORTED);
    if (storageClass !== 'standard') fail(notInEnum(storageClass, ['standard', 'archive']));
  }
  const filter = parseTagFilter(sel, tagStatus as TagStatus);
  return { tagStatus: tagStatus as TagStatus, ...filter, ...parseCount(sel) };
}

function parseAction(value: unknown): LifecycleRule['action'] {
  const action = checkObject(value, ['type'], ['type', 'targetStorageClass']);
  const type = checkString(action.type);
  if (type === 'transition') fail(TRANSITION_UNSUPPORTED);
  if (type !== 'expire') fail(notInEnum(type, ['expire', 'transition']));
  // The action schema is a oneOf too: expire takes no targetStorageClass.
  if (has(action, 'targetStorageClass')) fail(ONE_OF_FAILED);
  return { type: 'expire' };
}

function parseRule(value: unknown): LifecycleRule {
  const raw = checkObject(value, ['rulePriority', 'selection', 'action'], ['rulePriority', 'description', 'selection', 'action']);
  const rulePriority = checkCount(raw.rulePriority);
  const description = has(raw, 'description') ? checkString(raw.description) : undefined;
  const selection = parseSelection(raw.selection);
  const action = parseAction(raw.action);
  return description === undefined ? { rulePriority, selection, action } : { rulePriority, description, selection, action };
}

// ---- the rules together --------------------------------------------------------------------

/** What ECR checks across rules, after each rule is valid on its own. */
function checkRuleSet(rules: LifecycleRule[]): void {
  const seen = new Set<number>();
  for (const r of rules) {
    if (seen.has(r.rulePriority)) fail(notUnique(r.rulePriority));
    seen.add(r.rulePriority);
  }
  if (rules.filter((r) => r.selection.tagStatus === 'untagged').length > 1) fail(ONE_UNTAGGED_RULE);
  // tagStatus any selects every image, so a rule after it could never expire anything.
  const highest = Math.max(...rules.map((r) => r.rulePriority));
  if (rules.some((r) => r.selection.tagStatus === 'any' && r.rulePriority !== highest)) fail(ANY_RULE_LAST);
}

/** The message ECR's front door gives for a text of the wrong length (see src/ecr-api/validate.ts). */
function lengthError(text: string, constraint: string): LifecyclePolicyError {
  const shown = text.length > 256 ? `${text.slice(0, 256)}...` : text;
  const message = `1 validation error detected: Value '${shown}' at 'lifecyclePolicyText' failed to satisfy constraint: ${constraint}`;
  return new LifecyclePolicyError(constraint, 'ValidationException', message);
}

/**
 * Parses and validates ECR lifecycle policy text. Returns the rules in the order the text gives
 * them (evaluation sorts by rulePriority); unknown members are refused, not dropped, so what is
 * stored is exactly what is evaluated. Throws LifecyclePolicyError.
 */
export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  if (text.length < LIFECYCLE_POLICY_TEXT_MIN_LENGTH) {
    throw lengthError(text, `Member must have length greater than or equal to ${LIFECYCLE_POLICY_TEXT_MIN_LENGTH}`);
  }
  if (text.length > LIFECYCLE_POLICY_TEXT_MAX_LENGTH) {
    throw lengthError(text, `Member must have length less than or equal to ${LIFECYCLE_POLICY_TEXT_MAX_LENGTH}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    fail(COULD_NOT_MAP);
  }
  // Anything but an object cannot be mapped onto ECR's LifecyclePolicy class at all.
  if (!isObject(doc)) fail(COULD_NOT_MAP);
  const top = checkObject(doc, ['rules'], ['rules']);
  if (!Array.isArray(top.rules)) fail(typeMismatch(top.rules, 'array'));
  if (top.rules.length === 0) fail('array is too short: must have at least 1 elements but instance has 0 elements');
  const rules = top.rules.map(parseRule);
  checkRuleSet(rules);
  return { rules };
}

/**
 * Validation and compilation of IAM JSON policy documents, identity-based (attached to a
 * user or group) and resource-based (a repository or registry policy).
 */
import { compileValue, makeClause, parseOperator, type ConditionClause, type PolicyValue } from './conditions.js';
import { PolicyValidationError } from './errors.js';
import type { ActionPattern, AwsPrincipal, Effect, Policy, PolicyKind, PolicyVersion, PrincipalSpec, Statement } from './types.js';
import { compileTemplate, type Template, type TemplatePart } from './variables.js';
import { wildcardPattern } from './wildcard.js';

export interface ParseOptions {
  /** A label for the policy in evaluation results, e.g. `user/alice/inline/ci`. */
  name?: string;
}

const VERSIONS: readonly PolicyVersion[] = ['2012-10-17', '2008-10-17'];
const TOP_LEVEL = ['Version', 'Id', 'Statement'] as const;
const STATEMENT_KEYS = ['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'] as const;
const PRINCIPAL_TYPES = ['AWS', 'Service'] as const;

const ACTION = /^[A-Za-z0-9_-]+:[A-Za-z0-9_*?-]+$/;
const ACCOUNT_ID = /^\d{12}$/;
const PRINCIPAL_ARN = /^arn:[a-z0-9-]+:(iam|sts)::(\d{12}):(.+)$/;
const SERVICE = /^[A-Za-z0-9.-]+$/;
const CONDITION_KEY = /^[A-Za-z0-9_.-]+:[^\s]+$/;
const SID_IAM = /^[A-Za-z0-9]*$/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** For documents given as objects: a property set to `undefined` is an absent one, as it would be after JSON. */
function defined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function unknownKey(path: string, key: string, allowed: readonly string[], where: string): PolicyValidationError {
  const near = allowed.find((k) => k.toLowerCase() === key.toLowerCase());
  const at = path ? `${path}.${key}` : key;
  return new PolicyValidationError(at, `is not a valid ${where} element${near ? ` (did you mean "${near}"?)` : ` (expected one of ${allowed.join(', ')})`}`);
}

/** A string or a non-empty array of non-empty strings. */
function stringList(value: unknown, path: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && value.length === 0) throw new PolicyValidationError(path, 'must not be an empty list');
  return items.map((item, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path;
    if (typeof item !== 'string') throw new PolicyValidationError(at, `must be a string${Array.isArray(value) ? '' : ' or an array of strings'}, not ${describe(item)}`);
    if (item === '') throw new PolicyValidationError(at, 'must not be empty');
    return item;
  });
}

function compileActions(value: unknown, path: string): ActionPattern[] {
  const list = stringList(value, path);
  return list.map((raw, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path;
    if (raw !== '*' && !ACTION.test(raw)) {
      throw new PolicyValidationError(at, `${JSON.stringify(raw)} must be "*" or "<service>:<action>" (actions must be prefaced by a service prefix, e.g. "ecr:BatchGetImage")`);
    }
    return { raw, pattern: wildcardPattern(raw.toLowerCase()) };
  });
}

/** Variables may only stand in the resource part of an ARN, after its fifth colon; before it, the text is literal. */
function compileResource(raw: string, variables: boolean): Template {
  if (!variables || raw === '*') return compileTemplate(raw, false);
  let at = -1;
  for (let n = 0; n < 5; n++) at = raw.indexOf(':', at + 1);
  const head = compileTemplate(raw.slice(0, at + 1), false);
  const tail = compileTemplate(raw.slice(at + 1), true);
  const parts: TemplatePart[] = [...head.parts, ...tail.parts];
  return { raw, parts, hasVariables: tail.hasVariables };
}

function compileResources(value: unknown, path: string, variables: boolean): Template[] {
  const list = stringList(value, path);
  return list.map((raw, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path;
    if (raw !== '*' && !(raw.startsWith('arn:') && raw.split(':').length >= 6)) {
      throw new PolicyValidationError(at, `${JSON.stringify(raw)} must be in ARN format (arn:partition:service:region:account:resource) or "*"`);
    }
    return compileResource(raw, variables);
  });
}

function compilePrincipal(value: unknown, path: string): PrincipalSpec {
  if (value === '*') return { wildcard: true, aws: [], service: [] };
  if (typeof value === 'string') {
    throw new PolicyValidationError(path, `must be "*" or an object such as {"AWS": "arn:aws:iam::123456789012:root"}, not ${JSON.stringify(value)}`);
  }
  if (!isObject(value)) throw new PolicyValidationError(path, `must be "*" or an object, not ${describe(value)}`);
  const keys = Object.keys(value);
  if (keys.length === 0) throw new PolicyValidationError(path, 'must name at least one principal');
  const aws: AwsPrincipal[] = [];
  const service: string[] = [];
  for (const key of keys) {
    const at = `${path}.${key}`;
    if (key === 'Federated' || key === 'CanonicalUser') throw new PolicyValidationError(at, 'principals are not supported by this registry (use AWS or Service)');
    if (!(PRINCIPAL_TYPES as readonly string[]).includes(key)) throw unknownKey(path, key, PRINCIPAL_TYPES, 'principal type');
    const list = stringList(value[key], at);
    list.forEach((raw, i) => {
      const item = Array.isArray(value[key]) ? `${at}[${i}]` : at;
      if (key === 'Service') {
        if (!SERVICE.test(raw)) throw new PolicyValidationError(item, `Invalid principal in policy: ${JSON.stringify(raw)} is not a service principal such as "codebuild.amazonaws.com"`);
        service.push(raw.toLowerCase());
        return;
      }
      if (raw === '*') {
        aws.push({ kind: 'any' });
        return;
      }
      if (ACCOUNT_ID.test(raw)) {
        aws.push({ kind: 'account', accountId: raw, raw });
        return;
      }
      const m = PRINCIPAL_ARN.exec(raw);
      if (!m || /[*?]/.test(raw)) {
        throw new PolicyValidationError(
          item,
          `Invalid principal in policy: ${JSON.stringify(raw)} (expected "*", a 12-digit account id, or an IAM or STS ARN; wildcards cannot match part of a principal)`,
        );
      }
      if (m[1] === 'iam' && m[3] === 'root') aws.push({ kind: 'account', accountId: m[2]!, raw });
      else aws.push({ kind: 'arn', arn: raw });
    });
  }
  return { wildcard: false, aws, service };
}

function conditionValues(value: unknown, path: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && value.length === 0) throw new PolicyValidationError(path, 'must list at least one value');
  return items.map((item, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path;
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw new PolicyValidationError(at, `must be a string, number or boolean${Array.isArray(value) ? '' : ' or an array of them'}, not ${describe(item)}`);
  });
}

function compileConditions(value: unknown, path: string, variables: boolean): ConditionClause[] {
  if (!isObject(value)) throw new PolicyValidationError(path, `must be an object mapping condition operators to {key: values}, not ${describe(value)}`);
  const clauses: ConditionClause[] = [];
  for (const [operator, block] of Object.entries(value)) {
    const opPath = `${path}.${operator}`;
    const parsed = parseOperator(operator, opPath);
    if (!isObject(block)) throw new PolicyValidationError(opPath, `must be an object mapping condition keys to values, not ${describe(block)}`);
    const entries = Object.entries(block);
    if (entries.length === 0) throw new PolicyValidationError(opPath, 'must name at least one condition key');
    for (const [key, raw] of entries) {
      const keyPath = `${opPath}[${JSON.stringify(key)}]`;
      if (!CONDITION_KEY.test(key)) throw new PolicyValidationError(keyPath, 'is not a valid condition key (condition keys must be prefaced by a service prefix, e.g. "aws:SourceIp")');
      const list = conditionValues(raw, keyPath);
      const values: PolicyValue[] = list.map((v, i) => compileValue(parsed.def, v, Array.isArray(raw) ? `${keyPath}[${i}]` : keyPath, variables));
      clauses.push(makeClause(operator, parsed, key, values, keyPath));
    }
  }
  return clauses;
}

function compileStatement(input: unknown, index: number, path: string, kind: PolicyKind, version: PolicyVersion): Statement {
  if (!isObject(input)) throw new PolicyValidationError(path, `must be an object, not ${describe(input)}`);
  const value = defined(input);
  for (const key of Object.keys(value)) {
    if (!(STATEMENT_KEYS as readonly string[]).includes(key)) throw unknownKey(path, key, STATEMENT_KEYS, 'statement');
  }
  const variables = version === '2012-10-17';

  let sid: string | undefined;
  if ('Sid' in value) {
    if (typeof value.Sid !== 'string') throw new PolicyValidationError(`${path}.Sid`, `must be a string, not ${describe(value.Sid)}`);
    if (kind === 'identity' && !SID_IAM.test(value.Sid)) {
      throw new PolicyValidationError(`${path}.Sid`, `${JSON.stringify(value.Sid)} may contain only ASCII letters and digits`);
    }
    sid = value.Sid;
  }

  if (!('Effect' in value)) throw new PolicyValidationError(`${path}.Effect`, 'is required and must be "Allow" or "Deny"');
  if (value.Effect !== 'Allow' && value.Effect !== 'Deny') {
    throw new PolicyValidationError(`${path}.Effect`, `must be "Allow" or "Deny", not ${typeof value.Effect === 'string' ? JSON.stringify(value.Effect) : describe(value.Effect)}`);
  }
  const effect: Effect = value.Effect;

  const hasPrincipal = 'Principal' in value;
  const hasNotPrincipal = 'NotPrincipal' in value;
  if (kind === 'identity') {
    if (hasPrincipal) throw new PolicyValidationError(`${path}.Principal`, 'is not allowed in an identity-based policy: the principal is the identity the policy is attached to');
    if (hasNotPrincipal) throw new PolicyValidationError(`${path}.NotPrincipal`, 'is not allowed in an identity-based policy');
  } else {
    if (hasPrincipal && hasNotPrincipal) throw new PolicyValidationError(path, 'must not contain both Principal and NotPrincipal');
    if (!hasPrincipal && !hasNotPrincipal) throw new PolicyValidationError(path, 'must contain Principal or NotPrincipal in a resource-based policy');
  }

  const hasAction = 'Action' in value;
  const hasNotAction = 'NotAction' in value;
  if (hasAction && hasNotAction) throw new PolicyValidationError(path, 'must not contain both Action and NotAction');
  if (!hasAction && !hasNotAction) throw new PolicyValidationError(path, 'must contain Action or NotAction');

  const hasResource = 'Resource' in value;
  const hasNotResource = 'NotResource' in value;
  if (hasResource && hasNotResource) throw new PolicyValidationError(path, 'must not contain both Resource and NotResource');
  if (kind === 'identity' && !hasResource && !hasNotResource) throw new PolicyValidationError(path, 'must contain Resource or NotResource');

  return {
    index,
    path,
    ...(sid !== undefined ? { sid } : {}),
    effect,
    ...(hasPrincipal ? { principal: compilePrincipal(value.Principal, `${path}.Principal`) } : {}),
    ...(hasNotPrincipal ? { notPrincipal: compilePrincipal(value.NotPrincipal, `${path}.NotPrincipal`) } : {}),
    ...(hasAction ? { action: compileActions(value.Action, `${path}.Action`) } : {}),
    ...(hasNotAction ? { notAction: compileActions(value.NotAction, `${path}.NotAction`) } : {}),
    ...(hasResource ? { resource: compileResources(value.Resource, `${path}.Resource`, variables) } : {}),
    ...(hasNotResource ? { notResource: compileResources(value.NotResource, `${path}.NotResource`, variables) } : {}),
    conditions: 'Condition' in value ? compileConditions(value.Condition, `${path}.Condition`, variables) : [],
  };
}

/**
 * Validates and compiles a policy document (JSON text or an already parsed object).
 * `identity` documents are attached to users and groups and must not name a principal;
 * `resource` documents (repository and registry policies) must, and may omit Resource (the
 * statement then covers the resource the policy is attached to, as ECR's repository policy
 * examples do). A document without `Version` is read as 2008-10-17, as IAM does: no policy
 * variables. Throws {@link PolicyValidationError}.
 */
export function parsePolicy(json: string | object, kind: PolicyKind, options: ParseOptions = {}): Policy {
  let parsed: unknown = json;
  if (typeof json === 'string') {
    try {
      parsed = JSON.parse(json) as Json;
    } catch (err) {
      throw new PolicyValidationError('', `Syntax errors in policy: ${(err as Error).message}`);
    }
  }
  if (!isObject(parsed)) throw new PolicyValidationError('', `The policy must be a JSON object, not ${describe(parsed)}`);
  const doc = defined(parsed);
  for (const key of Object.keys(doc)) {
    if (!(TOP_LEVEL as readonly string[]).includes(key)) throw unknownKey('', key, TOP_LEVEL, 'top-level');
  }

  let version: PolicyVersion = '2008-10-17';
  if ('Version' in doc) {
    if (!VERSIONS.includes(doc.Version as PolicyVersion)) {
      throw new PolicyValidationError('Version', `${typeof doc.Version === 'string' ? JSON.stringify(doc.Version) : describe(doc.Version)} is not supported (use "2012-10-17"; "2008-10-17" is also accepted)`);
    }
    version = doc.Version as PolicyVersion;
  }

  let id: string | undefined;
  if ('Id' in doc) {
    if (typeof doc.Id !== 'string') throw new PolicyValidationError('Id', `must be a string, not ${describe(doc.Id)}`);
    id = doc.Id;
  }

  if (!('Statement' in doc)) throw new PolicyValidationError('Statement', 'is required');
  const raw = doc.Statement;
  let statements: Statement[];
  if (Array.isArray(raw)) {
    if (raw.length === 0) throw new PolicyValidationError('Statement', 'must contain at least one statement');
    statements = raw.map((s, i) => compileStatement(s, i, `Statement[${i}]`, kind, version));
  } else if (isObject(raw)) {
    statements = [compileStatement(raw, 0, 'Statement', kind, version)];
  } else {
    throw new PolicyValidationError('Statement', `must be an object or an array of objects, not ${describe(raw)}`);
  }

  const seen = new Map<string, string>();
  for (const s of statements) {
    if (!s.sid) continue;
    const first = seen.get(s.sid);
    if (first) throw new PolicyValidationError(`${s.path}.Sid`, `${JSON.stringify(s.sid)} duplicates ${first}.Sid: statement IDs (SID) in a single policy must be unique`);
    seen.set(s.sid, s.path);
  }

  return {
    kind,
    version,
    ...(id !== undefined ? { id } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
    statements,
  };
}

/**
 * The Condition element: operators, their value types, and how a condition is decided
 * against the request context, following IAM's documented rules:
 *
 * - operators in a block, and keys under one operator, are AND'ed; the values listed for
 *   one key are OR'ed, and for a negated operator (StringNotEquals, NotIpAddress, ...)
 *   NOR'ed: the negated operator is exactly the negation of its positive form;
 * - a key absent from the request makes a positive operator false and a negated one true;
 * - `...IfExists` makes an absent key true (whatever the operator, negated or not);
 * - `Null` tests presence: `"true"` means absent, `"false"` present;
 * - `ForAllValues:` is true when every request value matches (and when the key is absent
 *   or its value set is empty); `ForAnyValue:` when at least one does (false when absent or
 *   empty). With a negated operator, "matches" means "matches none of the policy values";
 * - without a set operator, a request key carrying several values is treated as matching
 *   when any of its values does (and a negated operator as the negation of that);
 * - condition key names are case-insensitive (tag key parts included);
 * - policy variables are substituted in the values of string, ARN and Bool operators only.
 */
import { PolicyValidationError } from './errors.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from './ip.js';
import { compileTemplate, resolveTemplate, type Template, type VariableLookup } from './variables.js';
import { arnPatternMatch, globMatch, patternText, type PatternChar } from './wildcard.js';

export type SetOperator = 'ForAnyValue' | 'ForAllValues';

type Family = 'String' | 'Numeric' | 'Date' | 'Bool' | 'Binary' | 'Ip' | 'Arn' | 'Null';

export type PolicyValue =
  | { readonly kind: 'template'; readonly template: Template }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'date'; readonly ms: number }
  | { readonly kind: 'binary'; readonly bytes: Buffer }
  | { readonly kind: 'cidr'; readonly cidr: Cidr }
  | { readonly kind: 'null'; readonly absent: boolean };

type Resolved = PolicyValue | { readonly kind: 'pattern'; readonly pattern: readonly PatternChar[] };

export interface OperatorDef {
  readonly name: string;
  readonly family: Family;
  readonly negated: boolean;
  /** The positive comparison of one request value with one (resolved) policy value. */
  readonly test: (request: string, policy: Resolved) => boolean;
}

export interface ConditionClause {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  readonly base: string;
  readonly negated: boolean;
  readonly set?: SetOperator;
  readonly ifExists: boolean;
  readonly key: string;
  readonly keyLower: string;
  readonly values: readonly PolicyValue[];
  readonly path: string;
}

/** Thrown while evaluating when a policy variable has no value: the statement does not apply. */
export class UnresolvedVariable extends Error {}

// ---------------------------------------------------------------------------------------
// Value parsing

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const EPOCH = /^-?\d+(?:\.\d+)?$/;
const ISO = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function parseNumber(text: string): number | null {
  const s = text.trim();
  if (!NUMBER.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/**
 * A date in one of the W3C profiles of ISO 8601 (`2024`, `2024-05`, `2024-05-01`,
 * `2024-05-01T10:00Z`, `2024-05-01T10:00:00.250+02:00`) or epoch seconds (`1714557600`), in
 * milliseconds. A bare four-digit value is read as a year, not as seconds in 1970; a time
 * without a zone designator is read as UTC.
 */
export function parseDate(text: string): number | null {
  const s = text.trim();
  const m = ISO.exec(s);
  if (m && (s.length === 4 || m[2] !== undefined)) {
    const [, y, mo = '01', d = '01', h = '00', mi = '00', sec = '00', frac = '', zone = 'Z'] = m;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = Number(sec);
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
    const utc = Date.UTC(year, month - 1, day, hour, minute, second, Number(frac.padEnd(3, '0').slice(0, 3)));
    if (new Date(utc).getUTCDate() !== day) return null; // 2023-02-30
    let offset = 0;
    if (zone !== 'Z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      const oh = Number(zone.slice(1, 3));
      const om = Number(zone.slice(4, 6));
      if (oh > 23 || om > 59) return null;
      offset = sign * (oh * 60 + om) * 60_000;
    }
    return utc - offset;
  }
  if (EPOCH.test(s)) return Math.round(Number(s) * 1000);
  return null;
}

function parseBool(text: string): boolean | null {
  const s = text.trim().toLowerCase();
  return s === 'true' ? true : s === 'false' ? false : null;
}

// ---------------------------------------------------------------------------------------
// Operators

function text(policy: Resolved): string {
  return policy.kind === 'pattern' ? patternText(policy.pattern) : '';
}

const stringEquals = (r: string, p: Resolved) => r === text(p);
const stringEqualsIgnoreCase = (r: string, p: Resolved) => r.toLowerCase() === text(p).toLowerCase();
const stringLike = (r: string, p: Resolved) => p.kind === 'pattern' && globMatch(p.pattern, r);
const arnLike = (r: string, p: Resolved) => p.kind === 'pattern' && arnPatternMatch(p.pattern, r);

function numeric(cmp: (a: number, b: number) => boolean) {
  return (r: string, p: Resolved) => {
    const n = parseNumber(r);
    return n !== null && p.kind === 'number' && cmp(n, p.value);
  };
}

function date(cmp: (a: number, b: number) => boolean) {
  return (r: string, p: Resolved) => {
    const ms = parseDate(r);
    return ms !== null && p.kind === 'date' && cmp(ms, p.ms);
  };
}

const eq = (a: number, b: number) => a === b;
const lt = (a: number, b: number) => a < b;
const le = (a: number, b: number) => a <= b;
const gt = (a: number, b: number) => a > b;
const ge = (a: number, b: number) => a >= b;

const bool = (r: string, p: Resolved) => {
  const want = parseBool(text(p));
  return want !== null && parseBool(r) === want;
};

const binaryEquals = (r: string, p: Resolved) => p.kind === 'binary' && BASE64.test(r.trim()) && Buffer.from(r.trim(), 'base64').equals(p.bytes);

const ipAddress = (r: string, p: Resolved) => {
  const ip = parseIp(r);
  return ip !== null && p.kind === 'cidr' && cidrContains(p.cidr, ip);
};

const never = () => false;

const DEFS: OperatorDef[] = [
  { name: 'StringEquals', family: 'String', negated: false, test: stringEquals },
  { name: 'StringNotEquals', family: 'String', negated: true, test: stringEquals },
  { name: 'StringEqualsIgnoreCase', family: 'String', negated: false, test: stringEqualsIgnoreCase },
  { name: 'StringNotEqualsIgnoreCase', family: 'String', negated: true, test: stringEqualsIgnoreCase },
  { name: 'StringLike', family: 'String', negated: false, test: stringLike },
  { name: 'StringNotLike', family: 'String', negated: true, test: stringLike },
  { name: 'NumericEquals', family: 'Numeric', negated: false, test: numeric(eq) },
  { name: 'NumericNotEquals', family: 'Numeric', negated: true, test: numeric(eq) },
  { name: 'NumericLessThan', family: 'Numeric', negated: false, test: numeric(lt) },
  { name: 'NumericLessThanEquals', family: 'Numeric', negated: false, test: numeric(le) },
  { name: 'NumericGreaterThan', family: 'Numeric', negated: false, test: numeric(gt) },
  { name: 'NumericGreaterThanEquals', family: 'Numeric', negated: false, test: numeric(ge) },
  { name: 'DateEquals', family: 'Date', negated: false, test: date(eq) },
  { name: 'DateNotEquals', family: 'Date', negated: true, test: date(eq) },
  { name: 'DateLessThan', family: 'Date', negated: false, test: date(lt) },
  { name: 'DateLessThanEquals', family: 'Date', negated: false, test: date(le) },
  { name: 'DateGreaterThan', family: 'Date', negated: false, test: date(gt) },
  { name: 'DateGreaterThanEquals', family: 'Date', negated: false, test: date(ge) },
  { name: 'Bool', family: 'Bool', negated: false, test: bool },
  { name: 'BinaryEquals', family: 'Binary', negated: false, test: binaryEquals },
  { name: 'IpAddress', family: 'Ip', negated: false, test: ipAddress },
  { name: 'NotIpAddress', family: 'Ip', negated: true, test: ipAddress },
  { name: 'ArnEquals', family: 'Arn', negated: false, test: arnLike },
  { name: 'ArnNotEquals', family: 'Arn', negated: true, test: arnLike },
  { name: 'ArnLike', family: 'Arn', negated: false, test: arnLike },
  { name: 'ArnNotLike', family: 'Arn', negated: true, test: arnLike },
  { name: 'Null', family: 'Null', negated: false, test: never },
];

const OPERATORS = new Map(DEFS.map((d) => [d.name.toLowerCase(), d]));

/** The names of the base condition operators (without IfExists or a set prefix). */
export const CONDITION_OPERATORS: readonly string[] = DEFS.map((d) => d.name);

export interface ParsedOperator {
  def: OperatorDef;
  set?: SetOperator;
  ifExists: boolean;
}

/** Operator names are matched without regard to case (`stringequals` is StringEquals). */
export function parseOperator(name: string, path: string): ParsedOperator {
  let rest = name;
  let set: SetOperator | undefined;
  const prefix = /^(ForAnyValue|ForAllValues):/i.exec(rest);
  if (prefix) {
    set = prefix[1]!.toLowerCase() === 'foranyvalue' ? 'ForAnyValue' : 'ForAllValues';
    rest = rest.slice(prefix[0].length);
  }
  let def = OPERATORS.get(rest.toLowerCase());
  let ifExists = false;
  if (!def && /IfExists$/i.test(rest)) {
    def = OPERATORS.get(rest.slice(0, -'IfExists'.length).toLowerCase());
    ifExists = def !== undefined;
  }
  if (!def) {
    const hint = /:/.test(name) && !prefix ? 'the only set operators are ForAnyValue: and ForAllValues:' : `expected one of ${DEFS.map((d) => d.name).join(', ')}, optionally with IfExists`;
    throw new PolicyValidationError(path, `is not a valid condition operator (${hint})`);
  }
  if (def.family === 'Null' && ifExists) throw new PolicyValidationError(path, 'is not a valid condition operator: Null cannot take the IfExists suffix');
  if (def.family === 'Null' && set) throw new PolicyValidationError(path, `is not a valid condition operator: Null cannot take the ${set}: prefix`);
  return { def, ...(set ? { set } : {}), ifExists };
}

/** Checks and compiles one condition value; `variables` is true for 2012-10-17 documents. */
export function compileValue(def: OperatorDef, raw: string, path: string, variables: boolean): PolicyValue {
  switch (def.family) {
    case 'String':
    case 'Arn':
    case 'Bool': {
      if (def.family === 'Bool' && !raw.includes('${') && parseBool(raw) === null) {
        throw new PolicyValidationError(path, `must be "true" or "false" for ${def.name}, not ${JSON.stringify(raw)}`);
      }
      return { kind: 'template', template: compileTemplate(raw, variables) };
    }
    case 'Numeric': {
      const n = parseNumber(raw);
      if (n === null) throw new PolicyValidationError(path, `must be a number for ${def.name}, not ${JSON.stringify(raw)}`);
      return { kind: 'number', value: n };
    }
    case 'Date': {
      const ms = parseDate(raw);
      if (ms === null) throw new PolicyValidationError(path, `must be an ISO 8601 date or epoch seconds for ${def.name}, not ${JSON.stringify(raw)}`);
      return { kind: 'date', ms };
    }
    case 'Binary': {
      if (!BASE64.test(raw)) throw new PolicyValidationError(path, `must be base64 for ${def.name}, not ${JSON.stringify(raw)}`);
      return { kind: 'binary', bytes: Buffer.from(raw, 'base64') };
    }
    case 'Ip': {
      const cidr = parseCidr(raw);
      if (!cidr) throw new PolicyValidationError(path, `must be an IPv4 or IPv6 address or CIDR range for ${def.name}, not ${JSON.stringify(raw)}`);
      return { kind: 'cidr', cidr };
    }
    case 'Null': {
      const b = parseBool(raw);
      if (b === null) throw new PolicyValidationError(path, `must be "true" or "false" for Null, not ${JSON.stringify(raw)}`);
      return { kind: 'null', absent: b };
    }
  }
}

export function makeClause(operator: string, parsed: ParsedOperator, key: string, values: PolicyValue[], path: string): ConditionClause {
  return {
    operator,
    base: parsed.def.name,
    negated: parsed.def.negated,
    ...(parsed.set ? { set: parsed.set } : {}),
    ifExists: parsed.ifExists,
    key,
    keyLower: key.toLowerCase(),
    values,
    path,
  };
}

// ---------------------------------------------------------------------------------------
// Evaluation

export interface ConditionContext {
  /** The request's values for a (lower-cased) key: undefined when absent. */
  values(keyLower: string): readonly string[] | undefined;
  variable: VariableLookup;
}

function resolve(value: PolicyValue, variable: VariableLookup): Resolved {
  if (value.kind !== 'template') return value;
  const pattern = resolveTemplate(value.template, variable);
  if (pattern === null) throw new UnresolvedVariable(value.template.raw);
  return { kind: 'pattern', pattern };
}

/** Whether one clause holds. Throws {@link UnresolvedVariable} when a needed policy variable has no value. */
export function evaluateClause(clause: ConditionClause, ctx: ConditionContext): boolean {
  const def = OPERATORS.get(clause.base.toLowerCase())!;
  let present = ctx.values(clause.keyLower);

  if (def.family === 'Null') {
    const absent = present === undefined || present.length === 0;
    return clause.values.some((v) => v.kind === 'null' && v.absent === absent);
  }

  // For set operators, a key that resolves to nothing but empty strings is an empty data set.
  if (clause.set && present?.every((v) => v === '')) present = [];

  if (present === undefined || (!clause.set && present.length === 0)) {
    if (clause.ifExists) return true;
    if (clause.set === 'ForAllValues') return true;
    if (clause.set === 'ForAnyValue') return false;
    return def.negated;
  }
  if (present.length === 0) return clause.set === 'ForAllValues';

  const resolved = clause.values.map((v) => resolve(v, ctx.variable));
  const matchesAny = (requestValue: string) => resolved.some((p) => def.test(requestValue, p));
  const holds = (requestValue: string) => (def.negated ? !matchesAny(requestValue) : matchesAny(requestValue));

  if (clause.set === 'ForAllValues') return present.every(holds);
  if (clause.set === 'ForAnyValue') return present.some(holds);
  const any = present.some(matchesAny);
  return def.negated ? !any : any;
}

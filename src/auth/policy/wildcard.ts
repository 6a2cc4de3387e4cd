/**
 * Wildcard matching as IAM does it: `*` is any run of characters (including none) and `?`
 * exactly one. Patterns are arrays of characters and wildcard tokens, so that a literal `*`
 * (from the `${*}` policy variable, or from a substituted value) never acts as a wildcard.
 * The matcher is the linear greedy one with single-star backtracking: no regular
 * expressions, so no pathological patterns.
 */

export const STAR: unique symbol = Symbol('*');
export const ONE: unique symbol = Symbol('?');

export type PatternChar = string | typeof STAR | typeof ONE;
export type Pattern = readonly PatternChar[];

/** A plain string where `*` and `?` are wildcards. */
export function wildcardPattern(text: string): PatternChar[] {
  return Array.from(text, (c) => (c === '*' ? STAR : c === '?' ? ONE : c));
}

/** A string taken literally: no character is a wildcard. */
export function literalPattern(text: string): PatternChar[] {
  return Array.from(text);
}

export function lowerPattern(pattern: Pattern): PatternChar[] {
  return pattern.map((c) => (typeof c === 'string' ? c.toLowerCase() : c));
}

export function hasWildcard(pattern: Pattern): boolean {
  return pattern.some((c) => typeof c !== 'string');
}

/** The pattern with its wildcards written back as `*` and `?`, for exact comparisons. */
export function patternText(pattern: Pattern): string {
  return pattern.map((c) => (c === STAR ? '*' : c === ONE ? '?' : c)).join('');
}

/** Whether `text` matches the whole of `pattern`. Case-sensitive: lower both to ignore case. */
export function globMatch(pattern: Pattern, text: string): boolean {
  const t = Array.from(text);
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < t.length) {
    const c = pattern[p];
    if (c === ONE || (typeof c === 'string' && c === t[i])) {
      p++;
      i++;
    } else if (c === STAR) {
      starP = p++;
      starI = i;
    } else if (starP !== -1) {
      p = starP + 1;
      i = ++starI;
    } else {
      return false;
    }
  }
  while (pattern[p] === STAR) p++;
  return p === pattern.length;
}

/** Splits a pattern at its literal colons into at most `max` segments; the last keeps any further colons. */
export function splitPatternSegments(pattern: Pattern, max: number): PatternChar[][] {
  const out: PatternChar[][] = [[]];
  for (const c of pattern) {
    if (c === ':' && out.length < max) out.push([]);
    else out[out.length - 1]!.push(c);
  }
  return out;
}

/** Splits a string at its colons into at most `max` segments; the last keeps any further colons. */
export function splitSegments(text: string, max: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (out.length < max - 1) {
    const at = text.indexOf(':', start);
    if (at === -1) break;
    out.push(text.slice(start, at));
    start = at + 1;
  }
  out.push(text.slice(start));
  return out;
}

/**
 * ARN matching: the six colon-separated parts (`arn:partition:service:region:account:resource`)
 * are matched one by one, so a wildcard never spans a colon between parts; the resource
 * part, which may itself contain colons, is matched as a whole. A pattern with fewer parts
 * (`*`, `arn:aws:ecr:*`) has its last part matched against the rest of the ARN.
 * Case-sensitive, as ARNs are.
 */
export function arnPatternMatch(pattern: Pattern, arn: string): boolean {
  const segments = splitPatternSegments(pattern, 6);
  const parts = splitSegments(arn, segments.length);
  if (parts.length !== segments.length) return false;
  return segments.every((segment, i) => globMatch(segment, parts[i]!));
}

/**
 * Whether an IAM action pattern (`ecr:*`, `ecr:Batch*`, `*`, `ecr:Get?ownload*`) matches an
 * action. Action names are case-insensitive, as AWS documents: `ECR:batchgetimage` is `ecr:BatchGetImage`.
 */
export function matchesAction(pattern: string, action: string): boolean {
  return globMatch(wildcardPattern(pattern.toLowerCase()), action.toLowerCase());
}

/**
 * Whether a resource ARN pattern (`*`, `arn:aws:ecr:*:123456789012:repository/team/*`,
 * `arn:aws:ecr:us-east-1:123456789012:repository/app-?`) matches an ARN. Case-sensitive;
 * wildcards stay within one ARN part (see {@link arnPatternMatch}).
 */
export function matchesArn(pattern: string, arn: string): boolean {
  return arnPatternMatch(wildcardPattern(pattern), arn);
}

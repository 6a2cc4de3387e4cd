/**
 * Policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`, `${aws:userid, 'anonymous'}`)
 * and the escapes `${*}`, `${?}`, `${$}`, which stand for a literal `*`, `?` and `$`.
 *
 * Only documents with `"Version": "2012-10-17"` have variables; under 2008-10-17 the text is
 * taken as written. A substituted value is always literal: a `*` in a user's tag never acts
 * as a wildcard. A variable whose key is absent from the request (or multivalued) and that
 * has no default cannot be resolved: AWS says this "might cause the entire statement to be
 * invalid", and here it always does (the statement does not apply, whatever its effect).
 */
import { literalPattern, wildcardPattern, type PatternChar } from './wildcard.js';

export type TemplatePart =
  | { readonly kind: 'text'; readonly pattern: readonly PatternChar[] }
  | { readonly kind: 'var'; readonly key: string; readonly keyLower: string; readonly fallback?: string };

export interface Template {
  readonly raw: string;
  readonly parts: readonly TemplatePart[];
  readonly hasVariables: boolean;
}

const VARIABLE = /^\s*([^\s,'${}]+)\s*(?:,\s*'([^']*)'\s*)?$/;

/** Compiles a policy string; `variables` is false for 2008-10-17 documents and for operators that take none. */
export function compileTemplate(raw: string, variables: boolean): Template {
  if (!variables || !raw.includes('${')) {
    return { raw, parts: [{ kind: 'text', pattern: wildcardPattern(raw) }], hasVariables: false };
  }
  const parts: TemplatePart[] = [];
  let hasVariables = false;
  let i = 0;
  while (i < raw.length) {
    const open = raw.indexOf('${', i);
    if (open === -1) {
      parts.push({ kind: 'text', pattern: wildcardPattern(raw.slice(i)) });
      break;
    }
    if (open > i) parts.push({ kind: 'text', pattern: wildcardPattern(raw.slice(i, open)) });
    const close = raw.indexOf('}', open + 2);
    if (close === -1) {
      parts.push({ kind: 'text', pattern: wildcardPattern(raw.slice(open)) });
      break;
    }
    const inner = raw.slice(open + 2, close);
    if (inner === '*' || inner === '?' || inner === '$') {
      parts.push({ kind: 'text', pattern: literalPattern(inner) });
    } else {
      const m = VARIABLE.exec(inner);
      if (m) {
        const key = m[1]!;
        parts.push({ kind: 'var', key, keyLower: key.toLowerCase(), ...(m[2] !== undefined ? { fallback: m[2] } : {}) });
        hasVariables = true;
      } else {
        // Not variable syntax: the characters stand for themselves.
        parts.push({ kind: 'text', pattern: wildcardPattern(raw.slice(open, close + 1)) });
      }
    }
    i = close + 1;
  }
  return { raw, parts, hasVariables };
}

/** The value of a single-valued request key (lower-cased name), or undefined when absent or multivalued. */
export type VariableLookup = (keyLower: string) => string | undefined;

/** The template with its variables substituted, or null when one cannot be resolved. */
export function resolveTemplate(template: Template, lookup: VariableLookup): PatternChar[] | null {
  const first = template.parts[0];
  if (!template.hasVariables && template.parts.length === 1 && first?.kind === 'text') return first.pattern as PatternChar[];
  const out: PatternChar[] = [];
  for (const part of template.parts) {
    if (part.kind === 'text') {
      out.push(...part.pattern);
      continue;
    }
    const value = lookup(part.keyLower) ?? part.fallback;
    if (value === undefined) return null;
    out.push(...literalPattern(value));
  }
  return out;
}

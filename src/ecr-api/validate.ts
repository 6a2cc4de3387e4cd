// Request validation driven by the ECR model: what ECR's front door checks before an
// operation runs. Constraint violations are ValidationException with AWS's wording
// ("1 validation error detected: Value null at 'repositoryName' failed to satisfy
// constraint: Member must not be null"); a value of the wrong JSON type is a
// SerializationException. Members the model does not know are ignored, as AWS does.
import { EcrApiError } from './errors.js';
import { MODEL, shape, type Shape } from './model.js';

interface Issue {
  path: string;
  value: unknown;
  constraint: string;
}

const patterns = new Map<string, RegExp>();

/** AWS applies a shape's pattern to the whole value. */
function anchored(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`);
    patterns.set(pattern, re);
  }
  return re;
}

/** A value as AWS quotes it in messages: `null`, or `'text'` (lists as `'[a, b]'`). */
function quote(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  const text = javaString(value);
  return `'${text.length > 256 ? `${text.slice(0, 256)}...` : text}'`;
}

function javaString(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(javaString).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}=${javaString(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function serialization(path: string, expected: string, value: unknown): never {
  throw new EcrApiError('SerializationException', `Expected ${expected} at '${path}', found ${kindOf(value)}`);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

function checkLength(length: number, s: Shape, path: string, value: unknown, issues: Issue[]): void {
  if (s.min !== undefined && length < s.min) issues.push({ path, value, constraint: `Member must have length greater than or equal to ${s.min}` });
  if (s.max !== undefined && length > s.max) issues.push({ path, value, constraint: `Member must have length less than or equal to ${s.max}` });
}

function visit(shapeName: string, value: unknown, path: string, issues: Issue[]): void {
  const s = shape(shapeName);
  switch (s.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) serialization(path || 'the request', 'a structure', value);
      const obj = value as Record<string, unknown>;
      for (const [member, memberShape] of Object.entries(s.members ?? {})) {
        const child = obj[member];
        const childPath = path ? `${path}.${member}` : member;
        // JSON null means "not given", as it does for the SDKs.
        if (child === undefined || child === null) {
          if (s.required?.includes(member)) issues.push({ path: childPath, value: null, constraint: 'Member must not be null' });
          continue;
        }
        visit(memberShape, child, childPath, issues);
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) serialization(path, 'a list', value);
      checkLength(value.length, s, path, value, issues);
      value.forEach((item, i) => {
        const itemPath = `${path}.${i + 1}.member`;
        if (item === null || item === undefined) issues.push({ path: itemPath, value: null, constraint: 'Member must not be null' });
        else visit(s.member!, item, itemPath, issues);
      });
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) serialization(path, 'a map', value);
      const entries = Object.entries(value as Record<string, unknown>);
      checkLength(entries.length, s, path, value, issues);
      for (const [k, v] of entries) {
        visit(s.key!, k, `${path}.key`, issues);
        if (v === null || v === undefined) issues.push({ path: `${path}.value`, value: null, constraint: 'Member must not be null' });
        else visit(s.value!, v, `${path}.value`, issues);
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') serialization(path, 'a string', value);
      if (s.enum) {
        if (!s.enum.includes(value)) issues.push({ path, value, constraint: `Member must satisfy enum value set: [${s.enum.join(', ')}]` });
        return;
      }
      // Java string lengths, as AWS counts them: UTF-16 code units.
      checkLength(value.length, s, path, value, issues);
      if (s.pattern !== undefined && !anchored(s.pattern).test(value)) {
        issues.push({ path, value, constraint: `Member must satisfy regular expression pattern: ${s.pattern}` });
      }
      return;
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) serialization(path, s.type === 'integer' ? 'an integer' : 'a long', value);
      if (s.type === 'integer' && (value > 2 ** 31 - 1 || value < -(2 ** 31))) serialization(path, 'an integer', value);
      if (s.min !== undefined && value < s.min) issues.push({ path, value, constraint: `Member must have value greater than or equal to ${s.min}` });
      if (s.max !== undefined && value > s.max) issues.push({ path, value, constraint: `Member must have value less than or equal to ${s.max}` });
      return;
    }
    case 'double':
    case 'float':
      if (typeof value !== 'number') serialization(path, 'a number', value);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') serialization(path, 'a boolean', value);
      return;
    case 'timestamp':
      // The JSON protocol sends epoch seconds; ISO-8601 text is accepted too.
      if (typeof value !== 'number' && !(typeof value === 'string' && !Number.isNaN(Date.parse(value)))) serialization(path, 'a timestamp', value);
      return;
    case 'blob': {
      if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) serialization(path, 'base64-encoded bytes', value);
      checkLength(decodedLength(value), s, path, '<blob>', issues);
      return;
    }
  }
}

/**
 * Checks an operation's input against the model. Throws SerializationException for a value of
 * the wrong type, ValidationException listing every constraint violation otherwise.
 */
export function validateInput(operation: string, input: unknown): void {
  const op = MODEL.operations[operation];
  if (!op) throw new Error(`unknown ECR operation ${operation}`);
  if (!op.input) return;
  const issues: Issue[] = [];
  visit(op.input, input, '', issues);
  if (issues.length === 0) return;
  const details = issues.map((i) => `Value ${quote(i.value)} at '${i.path}' failed to satisfy constraint: ${i.constraint}`);
  const count = issues.length === 1 ? '1 validation error detected' : `${issues.length} validation errors detected`;
  throw new EcrApiError('ValidationException', `${count}: ${details.join('; ')}`);
}

/** Parses a request body: empty means `{}`; anything but a JSON object is a SerializationException. */
export function parseBody(body: Buffer | string | undefined): Record<string, unknown> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EcrApiError('SerializationException', `The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EcrApiError('SerializationException', `The request body must be a JSON object, not ${kindOf(value)}`);
  }
  return value as Record<string, unknown>;
}

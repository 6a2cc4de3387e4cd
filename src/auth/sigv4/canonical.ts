// The SigV4 canonical request, built from a request exactly as it arrived on the wire.
//
//   CanonicalRequest =
//     Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//
// The signer (the SDK, botocore) built the same string from the request it was about to send, so
// the server rebuilds it from the bytes it received:
//
// - CanonicalURI, non-S3 services: the path the client put on the wire, with empty, '.' and '..'
//   segments removed (botocore `remove_dot_segments`, smithy `getCanonicalPath`), then every byte
//   outside A-Z a-z 0-9 - . _ ~ and '/' percent-encoded. The path on the wire is already encoded
//   once, so a '%' in it becomes '%25': that is the "encode each segment twice" of the AWS docs.
// - CanonicalURI, S3: the path as received, not normalized and not encoded again (only bytes that
//   should have been escaped are escaped, and escapes are upper-cased).
// - CanonicalQueryString: every name and value percent-decoded ('+' is a space, as AWS and the Go
//   SDK treat it), re-encoded with the same unreserved set, sorted by encoded name and then by
//   encoded value (get-vanilla-query-order-encoded in the AWS suite pins this order).
// - CanonicalHeaders: lower-case name ':' value, value trimmed and runs of spaces/tabs collapsed to
//   one space; several values of one header joined with ',' in the order received.
//
// A string with only chars <= 0xFF is taken as bytes (latin1, the way Node represents raw header
// bytes; Node's parser refuses unescaped non-ASCII in the request target); a string holding wider
// chars is taken as UTF-8 text (e.g. a path given as '/ሴ', as the AWS test suite writes it).

import { createHash } from 'node:crypto';

const HEX = '0123456789ABCDEF';

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  );
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** The bytes a wire string stands for (see the note at the top). */
export function wireBytes(s: string): Buffer {
  return /[^\x00-\xff]/.test(s) ? Buffer.from(s, 'utf8') : Buffer.from(s, 'latin1');
}

/** AWS's UriEncode: every byte but the unreserved ones (and '/' when asked) as %XX, upper-case. */
export function uriEncodeBytes(bytes: Uint8Array, keepSlash = false): string {
  let out = '';
  for (const b of bytes) {
    if (isUnreserved(b) || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

export function uriEncode(s: string, keepSlash = false): string {
  return uriEncodeBytes(wireBytes(s), keepSlash);
}

/** Percent-decodes to bytes. A '%' not followed by two hex digits stays a literal '%'. */
export function percentDecode(s: string, plusIsSpace: boolean): Buffer {
  const src = wireBytes(s);
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length && isHexDigit(src[i + 1]!) && isHexDigit(src[i + 2]!)) {
      out[n++] = parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16);
      i += 2;
    } else if (c === 0x2b && plusIsSpace) {
      out[n++] = 0x20;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** Removes empty, '.' and '..' segments the way botocore and the JS SDK do before signing. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const lead = path.startsWith('/') ? '/' : '';
  const trail = out.length > 0 && path.endsWith('/') ? '/' : '';
  const joined = lead + out.join('/') + trail;
  return joined === '' ? '/' : joined;
}

export function canonicalUri(rawPath: string, s3: boolean): string {
  if (rawPath === '') return '/';
  if (!s3) return uriEncode(normalizePath(rawPath), true);
  // S3: keep the client's escapes (upper-cased), escape only what should have been escaped.
  const src = wireBytes(rawPath);
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x25 && i + 2 < src.length && isHexDigit(src[i + 1]!) && isHexDigit(src[i + 2]!)) {
      out += '%' + String.fromCharCode(src[i + 1]!, src[i + 2]!).toUpperCase();
      i += 2;
    } else if (isUnreserved(b) || b === 0x2f) {
      out += String.fromCharCode(b);
    } else {
      out += '%' + HEX[b >> 4] + HEX[b & 15];
    }
  }
  return out;
}

export function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([uriEncodeBytes(percentDecode(name, true)), uriEncodeBytes(percentDecode(value, true))]);
  }
  // Encoded strings are ASCII, so plain comparison is byte order.
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/**
 * Trimall: leading/trailing whitespace removed, inner runs of spaces and tabs -> one space.
 * Several values, and the lines of an obs-folded value (the suite's get-header-value-multiline;
 * Node's parser refuses folding, so only other front ends can hand one over), join with ','.
 */
export function canonicalHeaderValue(value: string | readonly string[]): string {
  const values = typeof value === 'string' ? [value] : value;
  return values
    .flatMap((v) => v.split(/\r?\n/))
    .map((v) => v.replace(/[ \t]+/g, ' ').trim())
    .join(',');
}

export type HeaderMap = Record<string, string | readonly string[] | undefined>;

export interface CanonicalInput {
  method: string;
  path: string;
  query: string;
  headers: HeaderMap;
  signedHeaders: readonly string[];
  payloadHash: string;
  s3: boolean;
}

export function canonicalRequest(input: CanonicalInput): string {
  let headerBlock = '';
  for (const name of input.signedHeaders) {
    const value = input.headers[name];
    // A signed header that is not in the request gets no line; the signature then cannot match.
    if (value === undefined) continue;
    headerBlock += `${name}:${canonicalHeaderValue(value)}\n`;
  }
  return [
    input.method.toUpperCase(),
    canonicalUri(input.path, input.s3),
    canonicalQuery(input.query),
    headerBlock,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

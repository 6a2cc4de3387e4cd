// Verifies an `Authorization: AWS4-HMAC-SHA256 ...` request.
//
// The checks run in the order AWS runs them (as mapped by black-box probing in
// dacut/scratchstack-aws-signature, "AWS Auth Error Ordering"), so a request with several faults
// gets the error AWS would give first:
//   1. no Authorization header                         -> MissingAuthenticationTokenException
//   2. algorithm other than AWS4-HMAC-SHA256           -> IncompleteSignatureException
//   3. a parameter without '='                         -> IncompleteSignatureException
//   4. Credential / Signature / SignedHeaders / date
//      missing (all missing ones in one message)       -> IncompleteSignatureException
//   5. host not signed; an x-amz-* header not signed   -> InvalidSignatureException
//   6. date not ISO-8601 basic (or an HTTP date)       -> IncompleteSignatureException
//   7. date outside the allowed skew                   -> InvalidSignatureException
//   8. Credential not key/date/region/service/term     -> IncompleteSignatureException
//   9. scope region / service / terminator / date      -> InvalidSignatureException
//  10. x-amz-content-sha256 neither a hash nor UNSIGNED-PAYLOAD -> IncompleteSignatureException
//  11. access key unknown                              -> UnrecognizedClientException
//  12. signature (or declared payload hash) mismatch   -> InvalidSignatureException
// With `protocol: 'query'` the last two are InvalidClientTokenId and SignatureDoesNotMatch.

import { timingSafeEqual, createHmac } from 'node:crypto';
import { canonicalRequest, sha256Hex, stringToSign, type HeaderMap } from './canonical.js';
import { MESSAGES, sigv4Error, type SigV4Error, type SigV4Protocol } from './errors.js';
import { signingKey } from './signing-key.js';

export interface SignedRequest {
  method: string;
  /** Raw path, undecoded, as received (Node's `req.url` up to the '?'). */
  path: string;
  /** Raw query string without the '?'. */
  query: string;
  /**
   * Lower-case names, Node style. Pass `req.headersDistinct` (or `req.headers`): with
   * `headersDistinct` a header sent several times is canonicalized exactly (values joined with
   * ','), whereas `req.headers` has already joined most repeats with ', '.
   */
  headers: Record<string, string | string[] | undefined>;
  /** The raw body bytes. A string is taken as UTF-8. */
  body: Buffer | string;
}

export interface VerifyOptions {
  now?: Date;
  /** Allowed difference between the request's date and `now`; default 15 minutes. */
  maxSkewMs?: number;
  /** The service the credential scope must name, e.g. 'ecr'. */
  service?: string;
  /** The region the credential scope must name, or undefined to accept the scope's. */
  region?: string;
  lookupSecret(accessKeyId: string): Promise<string | null>;
  /**
   * Error names and statuses: 'json' (default; ECR and other AWS JSON services) or 'query'
   * (IAM/STS style SignatureDoesNotMatch / InvalidClientTokenId).
   */
  protocol?: SigV4Protocol;
  /**
   * Normalize the path and encode it again for the canonical URI (every service but S3), as the
   * SDK signers' option of the same name. Default: true unless the credential scope names 's3'.
   */
  uriEscapePath?: boolean;
}

export type VerifyResult =
  | {
      ok: true;
      accessKeyId: string;
      region: string;
      service: string;
      signedHeaders: string[];
      /** The X-Amz-Security-Token the client sent (and signed), if any. Not validated here. */
      sessionToken?: string;
    }
  | { ok: false; error: SigV4Error };

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

const BASIC_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** 20150830T123600Z for a time in ms (seconds resolution, truncated). */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

function parseBasicDate(value: string): number | null {
  const m = BASIC_DATE.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  // Reject dates that Date.UTC silently rolls over (20150230, 25:00:00, ...).
  return amzDate(ms) === value ? ms : null;
}

function first(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v[0];
}

function lowerCaseHeaders(headers: SignedRequest['headers']): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const prev = out[lower];
    if (prev === undefined) out[lower] = value;
    else out[lower] = [...(typeof prev === 'string' ? [prev] : prev), ...(typeof value === 'string' ? [value] : value)];
  }
  return out;
}

function formatMinutes(ms: number): string {
  return String(Math.round((ms / 60000) * 100) / 100);
}

export async function verifySigV4(req: SignedRequest, opts: VerifyOptions): Promise<VerifyResult> {
  const protocol = opts.protocol ?? 'json';
  const fail = (kind: Parameters<typeof sigv4Error>[1], message: string, detail?: string): VerifyResult => ({
    ok: false,
    error: sigv4Error(protocol, kind, message, detail),
  });
  const headers = lowerCaseHeaders(req.headers);

  // 1. The header form is the only one taken; without it there is no token at all.
  const authorization = first(headers['authorization'])?.trim();
  if (!authorization) return fail('missing', MESSAGES.missingToken);

  // 2. Algorithm.
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(authorization);
  const algorithm = m?.[1] ?? '';
  const rest = m?.[2] ?? '';
  if (algorithm !== ALGORITHM) return fail('incomplete', MESSAGES.unsupportedAlgorithm(algorithm));

  // 3. key=value parameters, comma separated; the last of a repeated key wins.
  const params = new Map<string, string>();
  for (const raw of rest.split(',')) {
    const param = raw.trim();
    if (param === '') continue;
    const eq = param.indexOf('=');
    if (eq < 0) return fail('incomplete', MESSAGES.notKeyValue(param, authorization));
    params.set(param.slice(0, eq), param.slice(eq + 1));
  }

  // 4. Everything needed must be there; AWS lists every missing piece in one message.
  const credential = params.get('Credential');
  const signature = params.get('Signature');
  const signedHeadersParam = params.get('SignedHeaders');
  const amzDateHeader = first(headers['x-amz-date']);
  const dateHeader = amzDateHeader === undefined ? first(headers['date']) : undefined;
  const missing: string[] = [];
  if (credential === undefined) missing.push(MESSAGES.requiresCredential);
  if (signature === undefined) missing.push(MESSAGES.requiresSignature);
  if (signedHeadersParam === undefined) missing.push(MESSAGES.requiresSignedHeaders);
  if (amzDateHeader === undefined && dateHeader === undefined) missing.push(MESSAGES.requiresDate);
  if (credential === undefined || signature === undefined || signedHeadersParam === undefined || missing.length > 0) {
    return fail('incomplete', `${missing.join(' ')} Authorization=${algorithm}`);
  }

  // 5. Host must be signed, and so must any x-amz-* header the request carries: an unsigned one
  // (x-amz-target above all) could be swapped by anyone replaying the request.
  const signedHeaders = signedHeadersParam.split(';').map((h) => h.trim().toLowerCase());
  if (!signedHeaders.includes('host') && !signedHeaders.includes(':authority')) {
    return fail('signature', MESSAGES.hostMustBeSigned);
  }
  for (const name of Object.keys(headers)) {
    if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) {
      return fail('signature', MESSAGES.headerMustBeSigned(name));
    }
  }

  // 6. The request time, in ISO-8601 basic format; a Date header may also be an HTTP date.
  let requestMs: number | null;
  let stamp: string;
  if (amzDateHeader !== undefined) {
    stamp = amzDateHeader.trim();
    requestMs = parseBasicDate(stamp);
    if (requestMs === null) return fail('incomplete', MESSAGES.badDate(amzDateHeader));
  } else {
    const value = (dateHeader ?? '').trim();
    requestMs = parseBasicDate(value);
    if (requestMs === null && /[a-z]/i.test(value) && /\d{1,2}:\d{2}:\d{2}/.test(value)) {
      const parsed = Date.parse(value);
      requestMs = Number.isFinite(parsed) ? parsed : null;
    }
    if (requestMs === null) return fail('incomplete', MESSAGES.badDate(dateHeader ?? ''));
    stamp = amzDate(requestMs);
  }

  // 7. Clock skew, both ways.
  const nowMs = (opts.now ?? new Date()).getTime();
  const skew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (requestMs < nowMs - skew) {
    return fail('signature', MESSAGES.expired(stamp, amzDate(nowMs - skew), amzDate(nowMs), formatMinutes(skew)));
  }
  if (requestMs > nowMs + skew) {
    return fail('signature', MESSAGES.notYetCurrent(stamp, amzDate(nowMs + skew), amzDate(nowMs), formatMinutes(skew)));
  }

  // 8. Credential = AKID/YYYYMMDD/region/service/aws4_request.
  const parts = credential.split('/');
  if (parts.length !== 5) return fail('incomplete', MESSAGES.credentialShape(credential));
  const [accessKeyId, scopeDate, region, service, terminator] = parts as [string, string, string, string, string];

  // 9. The scope must be for this region, this service, this day, and end in aws4_request.
  let scopeFaults = '';
  if (opts.region !== undefined && region !== opts.region) scopeFaults += MESSAGES.scopeRegion(region);
  if (opts.service !== undefined && service !== opts.service) scopeFaults += MESSAGES.scopeService(opts.service);
  if (terminator !== 'aws4_request') scopeFaults += MESSAGES.scopeTerminator(terminator);
  if (scopeDate !== stamp.slice(0, 8)) scopeFaults += MESSAGES.scopeDate(scopeDate, stamp.slice(0, 8), stamp);
  if (scopeFaults !== '') return fail('signature', scopeFaults);

  // 10. The payload hash: the client's declared one, or the body's.
  const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
  const declared = first(headers['x-amz-content-sha256'])?.trim();
  let payloadHash: string;
  let mustMatchBody = false;
  if (declared === undefined) {
    payloadHash = sha256Hex(body);
  } else if (declared === UNSIGNED_PAYLOAD) {
    payloadHash = UNSIGNED_PAYLOAD;
  } else if (/^[0-9a-fA-F]{64}$/.test(declared)) {
    payloadHash = declared;
    mustMatchBody = true;
  } else {
    return fail('incomplete', MESSAGES.badContentSha256);
  }

  // 11. Whose key.
  const secret = await opts.lookupSecret(accessKeyId);
  if (secret === null) return fail('unknownKey', MESSAGES.unknownKey);

  // 12. Recompute and compare in constant time.
  const canonical = canonicalRequest({
    method: req.method,
    path: req.path,
    query: req.query ?? '',
    headers,
    signedHeaders,
    payloadHash,
    s3: !(opts.uriEscapePath ?? service !== 's3'),
  });
  const scope = `${scopeDate}/${region}/${service}/${terminator}`;
  const toSign = stringToSign(stamp, scope, canonical);
  const expected = createHmac('sha256', signingKey(secret, scopeDate, region, service)).update(toSign, 'utf8').digest('hex');
  const given = Buffer.from(signature.trim().toLowerCase(), 'latin1');
  const want = Buffer.from(expected, 'latin1');
  const signatureOk = given.length === want.length && timingSafeEqual(given, want);
  if (!signatureOk) {
    return fail(
      'signature',
      MESSAGES.signatureMismatch,
      `canonical request:\n${canonical}\n\nstring to sign:\n${toSign}`,
    );
  }
  if (mustMatchBody && payloadHash.toLowerCase() !== sha256Hex(body)) {
    return fail('signature', MESSAGES.signatureMismatch, "the body does not hash to the signed x-amz-content-sha256");
  }

  const result: VerifyResult = { ok: true, accessKeyId, region, service, signedHeaders };
  const token = first(headers['x-amz-security-token']);
  if (token !== undefined) result.sessionToken = token;
  return result;
}

// AWS Signature Version 4 request verification (header form), node:crypto only.
//
// Usage from a Node/Fastify handler:
//
//   const [path, query = ''] = splitOnce(req.url, '?');
//   const r = await verifySigV4(
//     { method: req.method, path, query, headers: req.headersDistinct, body: rawBody },
//     { service: 'ecr', region, lookupSecret },
//   );
//   if (!r.ok) reply.code(r.error.status).header('x-amzn-ErrorType', r.error.type)
//     .send({ __type: r.error.type, message: r.error.message });

export {
  verifySigV4,
  amzDate,
  ALGORITHM,
  UNSIGNED_PAYLOAD,
  DEFAULT_MAX_SKEW_MS,
  type SignedRequest,
  type VerifyOptions,
  type VerifyResult,
} from './verify.js';
export { SigV4Error, SIGV4_STATUS, MESSAGES as SIGV4_MESSAGES, type SigV4ErrorType, type SigV4Protocol } from './errors.js';
export {
  canonicalRequest,
  canonicalUri,
  canonicalQuery,
  canonicalHeaderValue,
  stringToSign,
  uriEncode,
  type CanonicalInput,
} from './canonical.js';
export { deriveSigningKey, clearSigningKeyCache, signingKeyCacheSize, SIGNING_KEY_CACHE_MAX } from './signing-key.js';

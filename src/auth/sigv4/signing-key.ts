// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
// derived once per (secret, date, region, service) and kept in a small LRU.
//
// The cache is keyed by a SHA-256 of the secret, never the secret itself, so the map's keys do
// not hold secrets; a rotated secret simply misses and derives afresh.

import { createHash, createHmac } from 'node:crypto';

const MAX_ENTRIES = 256;
const cache = new Map<string, Buffer>();

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = createHash('sha256').update(secret, 'utf8').digest('base64');
  const cacheKey = `${id}\n${date}\n${region}\n${service}`;
  const hit = cache.get(cacheKey);
  if (hit) {
    // Refresh recency: Map iterates in insertion order, so the first key is the least recent.
    cache.delete(cacheKey);
    cache.set(cacheKey, hit);
    return hit;
  }
  const key = deriveSigningKey(secret, date, region, service);
  cache.set(cacheKey, key);
  while (cache.size > MAX_ENTRIES) {
    const oldest = cache.keys().next();
    if (oldest.done) break;
    cache.delete(oldest.value);
  }
  return key;
}

/** For tests and for dropping derived keys at once (e.g. after revoking keys). */
export function clearSigningKeyCache(): void {
  cache.clear();
}

export function signingKeyCacheSize(): number {
  return cache.size;
}

export const SIGNING_KEY_CACHE_MAX = MAX_ENTRIES;

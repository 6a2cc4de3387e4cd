// The building blocks: signing-key derivation (AWS's published examples), the key cache, header
// value canonicalization, and repeated headers as Node delivers them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHeaderValue, deriveSigningKey, verifySigV4 } from '../../../src/auth/sigv4/index.js';
import { clearSigningKeyCache, signingKey, signingKeyCacheSize, SIGNING_KEY_CACHE_MAX } from '../../../src/auth/sigv4/signing-key.js';
import { awsSign, ecrCall, lookupSecret, sendSigned, startVerifyServer, type VerifyServer } from './helpers.js';

const EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

describe('signing key', () => {
  it("derives AWS's documented example keys", () => {
    expect(deriveSigningKey(EXAMPLE_SECRET, '20120215', 'us-east-1', 'iam').toString('hex')).toBe(
      'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d',
    );
    expect(deriveSigningKey(EXAMPLE_SECRET, '20150830', 'us-east-1', 'iam').toString('hex')).toBe(
      'c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9',
    );
  });

  it('caches one key per (secret, date, region, service) and evicts the least recently used', () => {
    clearSigningKeyCache();
    const a = signingKey('s1', '20261123', 'us-east-1', 'ecr');
    expect(signingKey('s1', '20261123', 'us-east-1', 'ecr')).toBe(a);
    expect(signingKeyCacheSize()).toBe(1);
    expect(signingKey('s2', '20261123', 'us-east-1', 'ecr')).not.toEqual(a);
    expect(signingKey('s1', '20261124', 'us-east-1', 'ecr')).not.toEqual(a);
    expect(signingKey('s1', '20261123', 'us-west-2', 'ecr')).not.toEqual(a);
    expect(signingKey('s1', '20261123', 'us-east-1', 'sts')).not.toEqual(a);
    expect(signingKeyCacheSize()).toBe(5);

    for (let i = 0; i < SIGNING_KEY_CACHE_MAX * 2; i++) {
      signingKey('s1', '20261123', `region-${i}`, 'ecr');
      if (i % 10 === 0) signingKey('s1', '20261123', 'us-east-1', 'ecr'); // keep `a` recent
    }
    expect(signingKeyCacheSize()).toBe(SIGNING_KEY_CACHE_MAX);
    expect(signingKey('s1', '20261123', 'us-east-1', 'ecr')).toBe(a);
    expect(signingKey('s1', '20261123', 'us-east-1', 'ecr').equals(deriveSigningKey('s1', '20261123', 'us-east-1', 'ecr'))).toBe(true);
    clearSigningKeyCache();
    expect(signingKeyCacheSize()).toBe(0);
  });

  it('keeps secrets out of the cache keys', async () => {
    clearSigningKeyCache();
    const req = await awsSign(ecrCall());
    expect((await verifySigV4(req, { lookupSecret })).ok).toBe(true);
    expect(signingKeyCacheSize()).toBe(1);
  });
});

describe('header values', () => {
  it('trims, collapses runs of spaces and tabs, and joins repeats with a comma', () => {
    expect(canonicalHeaderValue('  a   b \t c  ')).toBe('a b c');
    expect(canonicalHeaderValue(['x', ' y  z ', ''])).toBe('x,y z,');
    expect(canonicalHeaderValue('"a   b   c"')).toBe('"a b c"');
    expect(canonicalHeaderValue('value1\n  value2\n     value3')).toBe('value1,value2,value3');
  });
});

describe('a header sent twice, over a real socket', () => {
  let server: VerifyServer;
  beforeAll(async () => {
    server = await startVerifyServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("verifies with req.headersDistinct: the values join with ',' as the signer joined them", async () => {
    const call = ecrCall();
    const signed = await awsSign(
      { ...call, headers: { ...call.headers, 'x-wharf-dup': 'first,second' }, host: `127.0.0.1:${server.port}` },
      {},
    );
    // Send the signed value as two header lines.
    const headers: Record<string, string | string[]> = { ...signed.headers, 'x-wharf-dup': ['first', 'second'] };
    const res = await sendSigned(server.port, { ...signed, headers: headers as Record<string, string> });
    expect(server.seen.at(-1)?.headers['x-wharf-dup']).toEqual(['first', 'second']);
    expect(res.status).toBe(200);
  });
});

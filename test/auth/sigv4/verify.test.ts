// verifySigV4 against ECR-shaped requests signed by @smithy/signature-v4 (the JS SDK's signer):
// the valid request passes, and every kind of fault gets AWS's error type, message and status.

import { describe, expect, it } from 'vitest';
import { SigV4Error, verifySigV4, type VerifyOptions, type VerifyResult } from '../../../src/auth/sigv4/index.js';
import {
  AKID,
  awsSign,
  ecrCall,
  ECR_TARGET,
  lookupSecret,
  withAuthorization,
  withHeader,
  withoutHeader,
  type Signed,
} from './helpers.js';

const SIGNED_AT = new Date('2026-11-23T10:10:10Z');
const opts: VerifyOptions = { lookupSecret, service: 'ecr', region: 'us-east-1', now: SIGNED_AT };

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function failure(r: VerifyResult): SigV4Error {
  if (r.ok) throw new Error('expected the request to be refused');
  return r.error;
}

async function refused(req: Signed, o: Partial<VerifyOptions> = {}): Promise<SigV4Error> {
  return failure(await verifySigV4(req, { ...opts, ...o }));
}

const signedEcr = (o: Parameters<typeof awsSign>[1] = {}) => awsSign(ecrCall(), { date: SIGNED_AT, ...o });

describe('verifySigV4: requests the JS SDK signer produces', () => {
  it('accepts a valid ECR DescribeRepositories call and reports who signed it', async () => {
    const req = await signedEcr();
    expect(req.headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAWHARFTEST0000001\/20261123\/us-east-1\/ecr\/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
    const r = await verifySigV4(req, opts);
    expect(r).toEqual({
      ok: true,
      accessKeyId: AKID,
      region: 'us-east-1',
      service: 'ecr',
      signedHeaders: ['content-length', 'content-type', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-target'],
    });
  });

  it('accepts the same call without x-amz-content-sha256 (the body is hashed)', async () => {
    const req = await signedEcr({ applyChecksum: false });
    expect(req.headers['x-amz-content-sha256']).toBeUndefined();
    expect((await verifySigV4(req, opts)).ok).toBe(true);
  });

  it('accepts a string body, headers given as arrays (headersDistinct), and any header name case', async () => {
    const req = await signedEcr();
    const headers: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toUpperCase()] = [v];
    expect((await verifySigV4({ ...req, headers, body: req.body.toString('utf8') }, opts)).ok).toBe(true);
  });

  it('accepts a scope in any region when no region is required, and reports it', async () => {
    const req = await signedEcr({ region: 'eu-west-3' });
    const r = await verifySigV4(req, { ...opts, region: undefined });
    expect(r.ok && r.region).toBe('eu-west-3');
  });

  it('reports the session token when one was signed', async () => {
    const req = await signedEcr({ sessionToken: 'FwoGZXIvYXdzEXAMPLE' });
    const r = await verifySigV4(req, opts);
    expect(r.ok && r.sessionToken).toBe('FwoGZXIvYXdzEXAMPLE');
    expect(r.ok && r.signedHeaders).toContain('x-amz-security-token');
  });

  it('accepts requests right at the edge of the 15 minute window, both ways', async () => {
    const req = await signedEcr();
    expect((await verifySigV4(req, { ...opts, now: new Date(SIGNED_AT.getTime() + 15 * 60_000) })).ok).toBe(true);
    expect((await verifySigV4(req, { ...opts, now: new Date(SIGNED_AT.getTime() - 15 * 60_000) })).ok).toBe(true);
  });

  it('honours UNSIGNED-PAYLOAD only when the client declared it', async () => {
    const call = ecrCall();
    const req = await awsSign({ ...call, headers: { ...call.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { date: SIGNED_AT });
    expect(req.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    // The payload is not covered, so another body still verifies: that is what the client asked for.
    expect((await verifySigV4({ ...req, body: Buffer.from('{"other":true}') }, opts)).ok).toBe(true);
    // Without the declaration, the body is hashed and a different body fails.
    const hashed = await signedEcr({ applyChecksum: false });
    expect((await refused({ ...hashed, body: Buffer.from('{"other":true}') })).type).toBe('InvalidSignatureException');
  });
});

describe('verifySigV4: tampering and wrong keys', () => {
  it('refuses a tampered body (with and without x-amz-content-sha256)', async () => {
    for (const applyChecksum of [true, false]) {
      const req = await signedEcr({ applyChecksum });
      const e = await refused({ ...req, body: Buffer.from('{"maxResults":11}') });
      expect([e.type, e.message, e.status]).toEqual(['InvalidSignatureException', MISMATCH, 400]);
    }
  });

  it('refuses a body that does not hash to the signed x-amz-content-sha256 even if the header is kept', async () => {
    const req = await signedEcr();
    const e = await refused({ ...req, body: Buffer.concat([req.body, Buffer.from(' ')]) });
    expect(e.type).toBe('InvalidSignatureException');
    expect(e.message).toBe(MISMATCH);
  });

  it('refuses a tampered x-amz-target', async () => {
    const req = withHeader(await signedEcr(), 'x-amz-target', 'AmazonEC2ContainerRegistry_V20150921.DeleteRepository');
    const e = await refused(req);
    expect([e.type, e.message, e.status]).toEqual(['InvalidSignatureException', MISMATCH, 400]);
    expect(e.detail).toContain('x-amz-target:AmazonEC2ContainerRegistry_V20150921.DeleteRepository');
  });

  it('refuses a request missing a header it signed', async () => {
    const e = await refused(withoutHeader(await signedEcr(), 'content-type'));
    expect([e.type, e.message, e.status]).toEqual(['InvalidSignatureException', MISMATCH, 400]);
  });

  it('refuses an x-amz-* header dropped from SignedHeaders, and a signature without host', async () => {
    const dropTarget = withAuthorization(await signedEcr(), (a) => a.replace(';x-amz-target', ''));
    const e = await refused(dropTarget);
    expect([e.type, e.message, e.status]).toEqual([
      'InvalidSignatureException',
      "'x-amz-target' must be a 'SignedHeader' in the AWS Authorization.",
      400,
    ]);
    const dropHost = withAuthorization(await signedEcr(), (a) => a.replace(';host', ''));
    const h = await refused(dropHost);
    expect([h.type, h.message]).toEqual([
      'InvalidSignatureException',
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    ]);
  });

  it('refuses an unsigned x-amz-* header added after signing', async () => {
    const e = await refused(withHeader(await signedEcr(), 'x-amz-meta-extra', '1'));
    expect(e.message).toBe("'x-amz-meta-extra' must be a 'SignedHeader' in the AWS Authorization.");
  });

  it('refuses a request signed with the wrong secret', async () => {
    const req = await signedEcr({ secret: 'not-the-secret' });
    const e = await refused(req);
    expect([e.type, e.message, e.status]).toEqual(['InvalidSignatureException', MISMATCH, 400]);
    expect(e.detail).toMatch(/^canonical request:\nPOST\n\/\n\n/);
  });

  it('refuses an access key it does not know', async () => {
    const req = await signedEcr({ accessKeyId: 'AKIAUNKNOWN000000000' });
    const e = await refused(req);
    expect([e.type, e.message, e.status]).toEqual([
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
      400,
    ]);
  });

  it('refuses a malformed signature value', async () => {
    for (const sig of ['', 'zz', 'A'.repeat(64), '0'.repeat(65)]) {
      const req = withAuthorization(await signedEcr(), (a) => a.replace(/Signature=[0-9a-f]+/, `Signature=${sig}`));
      expect((await refused(req)).type).toBe('InvalidSignatureException');
    }
  });

  it('accepts an upper-case hex signature (same bytes)', async () => {
    const req = withAuthorization(await signedEcr(), (a) => a.replace(/Signature=([0-9a-f]+)/, (_m, s: string) => `Signature=${s.toUpperCase()}`));
    expect((await verifySigV4(req, opts)).ok).toBe(true);
  });

  it('uses query-protocol names and statuses when asked', async () => {
    const bad = await refused(await signedEcr({ secret: 'nope' }), { protocol: 'query' });
    expect([bad.type, bad.message, bad.status]).toEqual(['SignatureDoesNotMatch', MISMATCH, 403]);
    const unknown = await refused(await signedEcr({ accessKeyId: 'AKIAUNKNOWN000000000' }), { protocol: 'query' });
    expect([unknown.type, unknown.message, unknown.status]).toEqual([
      'InvalidClientTokenId',
      'The security token included in the request is invalid.',
      403,
    ]);
  });

  it('returns SigV4Error instances', async () => {
    const e = await refused(await signedEcr({ secret: 'nope' }));
    expect(e).toBeInstanceOf(SigV4Error);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('SigV4Error');
  });
});

describe('verifySigV4: time and credential scope', () => {
  it('refuses a request signed 16 minutes ago (Signature expired)', async () => {
    const req = await signedEcr();
    const e = await refused(req, { now: new Date('2026-11-23T10:26:10Z') });
    expect([e.type, e.message, e.status]).toEqual([
      'InvalidSignatureException',
      'Signature expired: 20261123T101010Z is now earlier than 20261123T101110Z (20261123T102610Z - 15 min.)',
      400,
    ]);
  });

  it('refuses a request signed 16 minutes in the future (Signature not yet current)', async () => {
    const req = await signedEcr();
    const e = await refused(req, { now: new Date('2026-11-23T09:54:10Z') });
    expect([e.type, e.message, e.status]).toEqual([
      'InvalidSignatureException',
      'Signature not yet current: 20261123T101010Z is still later than 20261123T100910Z (20261123T095410Z + 15 min.)',
      400,
    ]);
  });

  it('names the configured window in the message', async () => {
    const req = await signedEcr();
    const e = await refused(req, { now: new Date('2026-11-23T10:16:10Z'), maxSkewMs: 5 * 60_000 });
    expect(e.message).toBe('Signature expired: 20261123T101010Z is now earlier than 20261123T101110Z (20261123T101610Z - 5 min.)');
  });

  it('refuses a credential scope whose date is not the X-Amz-Date day', async () => {
    const req = withAuthorization(await signedEcr(), (a) => a.replace('/20261123/', '/20261122/'));
    const e = await refused(req);
    expect([e.type, e.message, e.status]).toEqual([
      'InvalidSignatureException',
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261122' != '20261123', from '20261123T101010Z'. ",
      400,
    ]);
  });

  it('refuses a credential scope that does not end in aws4_request', async () => {
    const req = withAuthorization(await signedEcr(), (a) => a.replace('/aws4_request', '/aws5_request'));
    const e = await refused(req);
    expect([e.type, e.message, e.status]).toEqual([
      'InvalidSignatureException',
      "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
      400,
    ]);
  });

  it('refuses a scope for another service or region, all faults in one message', async () => {
    const sts = await signedEcr({ service: 'sts' });
    expect((await refused(sts)).message).toBe("Credential should be scoped to correct service: 'ecr'. ");
    const west = await signedEcr({ region: 'us-west-2' });
    expect((await refused(west)).message).toBe("Credential should be scoped to a valid region, not 'us-west-2'. ");
    const all = withAuthorization(await signedEcr({ service: 'sts', region: 'us-west-2' }), (a) =>
      a.replace('/20261123/', '/20261122/').replace('aws4_request', 'aws4_reques'),
    );
    expect((await refused(all)).message).toBe(
      "Credential should be scoped to a valid region, not 'us-west-2'. " +
        "Credential should be scoped to correct service: 'ecr'. " +
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_reques'. " +
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261122' != '20261123', from '20261123T101010Z'. ",
    );
  });

  it('checks the clock before the scope, and the scope before the key (AWS order)', async () => {
    const req = withAuthorization(await signedEcr({ accessKeyId: 'AKIAUNKNOWN000000000' }), (a) => a.replace('/ecr/', '/sts/'));
    expect((await refused(req)).message).toBe("Credential should be scoped to correct service: 'ecr'. ");
    const late = await refused(req, { now: new Date('2026-11-24T10:10:10Z') });
    expect(late.message).toMatch(/^Signature expired: /);
  });
});

describe('verifySigV4: malformed or missing authentication', () => {
  it('answers a request without Authorization with MissingAuthenticationTokenException', async () => {
    for (const req of [withoutHeader(await signedEcr(), 'authorization'), withHeader(await signedEcr(), 'authorization', '   ')]) {
      const e = await refused(req);
      expect([e.type, e.message, e.status]).toEqual(['MissingAuthenticationTokenException', 'Missing Authentication Token', 400]);
    }
    const q = await refused(withoutHeader(await signedEcr(), 'authorization'), { protocol: 'query' });
    expect(q.status).toBe(403);
  });

  it('names each missing Authorization parameter, in AWS order', async () => {
    const base = await signedEcr();
    const cases: Array<[(a: string) => string, string]> = [
      [
        (a) => a.replace(/Credential=[^,]+, /, ''),
        "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256",
      ],
      [
        (a) => a.replace(/, SignedHeaders=[^,]+/, ''),
        "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
      ],
      [
        (a) => a.replace(/, Signature=[0-9a-f]+/, ''),
        "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256",
      ],
      [
        () => 'AWS4-HMAC-SHA256 ',
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
      ],
    ];
    for (const [edit, message] of cases) {
      const e = await refused(withAuthorization(base, edit));
      expect([e.type, e.message, e.status]).toEqual(['IncompleteSignatureException', message, 400]);
    }
  });

  it('requires X-Amz-Date or Date', async () => {
    const e = await refused(withoutHeader(await signedEcr(), 'x-amz-date'));
    expect([e.type, e.message, e.status]).toEqual([
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256",
      400,
    ]);
  });

  it('requires the date in ISO-8601 basic format', async () => {
    for (const bad of ['2026-11-23T10:10:10Z', '20261123T101010', '20261323T101010Z', '20261123T246010Z']) {
      const e = await refused(withHeader(await signedEcr(), 'x-amz-date', bad));
      expect([e.type, e.message]).toEqual([
        'IncompleteSignatureException',
        `Date must be in ISO-8601 'basic format'. Got '${bad}'. See http://en.wikipedia.org/wiki/ISO_8601`,
      ]);
    }
  });

  it('refuses other algorithms and parameters without =', async () => {
    const base = await signedEcr();
    const alg = await refused(withAuthorization(base, (a) => a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')));
    expect([alg.type, alg.message]).toEqual(['IncompleteSignatureException', "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'."]);
    const basic = await refused(withHeader(base, 'authorization', 'Basic dXNlcjpwYXNz'));
    expect(basic.message).toBe("Unsupported AWS 'algorithm': 'Basic'.");
    const kv = await refused(withHeader(base, 'authorization', 'AWS4-HMAC-SHA256 FooBar, Signature=abc'));
    expect([kv.type, kv.message]).toEqual([
      'IncompleteSignatureException',
      "'FooBar' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 FooBar, Signature=abc'",
    ]);
  });

  it('requires a five-part Credential', async () => {
    const e = await refused(withAuthorization(await signedEcr(), (a) => a.replace(`${AKID}/`, '')));
    expect([e.type, e.message, e.status]).toEqual([
      'IncompleteSignatureException',
      "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '20261123/us-east-1/ecr/aws4_request'",
      400,
    ]);
  });

  it('refuses an x-amz-content-sha256 that is neither a hash nor UNSIGNED-PAYLOAD', async () => {
    const call = ecrCall();
    const req = await awsSign({ ...call, headers: { ...call.headers, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } }, { date: SIGNED_AT });
    const e = await refused(req);
    expect([e.type, e.status]).toEqual(['IncompleteSignatureException', 400]);
  });

  it('accepts parameters in any order and without spaces after commas', async () => {
    const req = withAuthorization(await signedEcr(), (a) => {
      const [alg, rest] = [a.slice(0, a.indexOf(' ')), a.slice(a.indexOf(' ') + 1)];
      return `${alg} ${rest.split(', ').reverse().join(',')}`;
    });
    expect((await verifySigV4(req, opts)).ok).toBe(true);
  });

  it('does not call lookupSecret for requests that fail before the key matters', async () => {
    let calls = 0;
    const counting = async (id: string) => {
      calls++;
      return lookupSecret(id);
    };
    await verifySigV4(withoutHeader(await signedEcr(), 'authorization'), { ...opts, lookupSecret: counting });
    await verifySigV4(await signedEcr(), { ...opts, lookupSecret: counting, now: new Date('2027-01-01T00:00:00Z') });
    expect(calls).toBe(0);
    await verifySigV4(await signedEcr(), { ...opts, lookupSecret: counting });
    expect(calls).toBe(1);
  });

  it('verifies whatever target was signed (another operation, empty JSON body)', async () => {
    const req = await awsSign(ecrCall('{}', ECR_TARGET.replace('DescribeRepositories', 'ListImages')), { date: SIGNED_AT });
    expect((await verifySigV4(req, opts)).ok).toBe(true);
  });
});

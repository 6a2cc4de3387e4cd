// Query strings and paths, signed by the real signers and sent over a real socket, so the verifier
// sees exactly the bytes Node hands a server: @smithy/signature-v4 (the JS SDK's signer, with the
// SDK's own query-string builder) and, when a Python with botocore is on the machine, botocore
// (the AWS CLI's signer, with botocore's own URL encoding).

import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalQuery, canonicalUri, verifySigV4 } from '../../../src/auth/sigv4/index.js';
import { AKID, SECRET, awsSign, lookupSecret, sendSigned, startVerifyServer, type Query, type VerifyServer } from './helpers.js';

interface QueryCase {
  name: string;
  path: string;
  query: Array<[string, string]>;
}

const CASES: QueryCase[] = [
  { name: 'spaces', path: '/', query: [['q', 'a b  c'], ['sp ace', 'x'], ['lead', ' trailing ']] },
  { name: 'unicode', path: '/', query: [['ключ', 'значение'], ['emoji', '😀 ሴ'], ['é', 'è']] },
  { name: "'+'", path: '/', query: [['plus', 'a+b'], ['a+b', 'c+']] },
  { name: "'='", path: '/', query: [['eq', 'a=b=c'], ['k=ey', 'v'], ['trail', '=']] },
  { name: "'~' and reserved characters", path: '/', query: [['tilde', '~user'], ['marks', "!*'()"], ['delims', 'a/b?c#d&e;f,g:h@i$j'], ['pct', '100%']] },
  { name: 'repeated keys', path: '/', query: [['tag', 'b'], ['tag', 'a'], ['tag', 'a b'], ['tag', 'A'], ['tag', '']] },
  { name: 'key order and empty values', path: '/', query: [['a', '1'], ['a-b', '2'], ['A', '3'], ['b', '0'], ['_', 'x'], ['~', 'y'], ['empty', '']] },
  { name: 'escaped path segments', path: '/v2/my%20repo/a%2Fb/%E1%88%B4/~x%2A/manifests/sha256%3Aabc', query: [['n', '1']] },
  { name: 'dot segments and double slashes in the path', path: '/a/./b/../c//d/', query: [] },
];

function toRecord(pairs: Array<[string, string]>): Query {
  const q: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const prev = q[k];
    q[k] = prev === undefined ? v : [...(typeof prev === 'string' ? [prev] : prev), v];
  }
  return q;
}

let server: VerifyServer;
beforeAll(async () => {
  server = await startVerifyServer();
});
afterAll(async () => {
  await server.close();
});

describe('query strings signed by @smithy/signature-v4', () => {
  for (const c of CASES) {
    it(`verifies ${c.name}`, async () => {
      const signed = await awsSign({ method: 'GET', path: c.path, query: toRecord(c.query), host: `127.0.0.1:${server.port}` });
      const res = await sendSigned(server.port, signed);
      const seen = server.seen.at(-1);
      expect(seen?.url).toBe(signed.query === '' ? signed.path : `${signed.path}?${signed.query}`);
      if (!seen?.result.ok) throw new Error(`refused: ${JSON.stringify(seen?.result)}`);
      expect(res.status).toBe(200);

      // The order parameters arrive in does not matter...
      const reversed = { ...signed, query: signed.query.split('&').reverse().join('&') };
      expect((await sendSigned(server.port, reversed)).status).toBe(200);
      // ...but their values do.
      if (signed.query !== '') {
        const changed = { ...signed, query: `${signed.query}&extra=1` };
        const r = await sendSigned(server.port, changed);
        expect(r.status).toBe(400);
        expect(JSON.parse(r.body)).toMatchObject({ __type: 'InvalidSignatureException' });
      }
    });
  }

  it("takes a '+' on the wire as a space, as AWS does", async () => {
    const signed = await awsSign({ method: 'GET', path: '/', query: { q: 'a b', 'k y': 'v' }, host: `127.0.0.1:${server.port}` });
    expect(signed.query).toBe('k%20y=v&q=a%20b');
    const plus = { ...signed, query: 'k+y=v&q=a+b' };
    expect((await sendSigned(server.port, plus)).status).toBe(200);
  });

  it('canonicalizes as the spec says: decoded, re-encoded, sorted by key then value', () => {
    expect(canonicalQuery('b=2&a=1&a-b=3&a=0&~=%7e&_=&c')).toBe('_=&a=0&a=1&a-b=3&b=2&c=&~=~');
    expect(canonicalQuery('x=%2a%2B+%20&%E1%88%B4=1&y=%zz')).toBe('%E1%88%B4=1&x=%2A%2B%20%20&y=%25zz');
    expect(canonicalUri('/a%20b/%E1%88%B4/./x/../y', false)).toBe('/a%2520b/%25E1%2588%25B4/y');
    expect(canonicalUri('/a%2fb//c', true)).toBe('/a%2Fb//c');
    expect(canonicalUri('', false)).toBe('/');
  });
});

// ---- botocore --------------------------------------------------------------------------------

const BOTOCORE_SIGNER = String.raw`
import importlib, json, sys
prefix = sys.argv[1]
awsrequest = importlib.import_module(prefix + '.awsrequest')
auth = importlib.import_module(prefix + '.auth')
credentials = importlib.import_module(prefix + '.credentials')
utils = importlib.import_module(prefix + '.utils')
spec = json.load(sys.stdin)
out = []
for c in spec['cases']:
    url = spec['endpoint'] + c['path']
    if c['query']:
        url += '?' + utils.percent_encode_sequence([tuple(p) for p in c['query']])
    req = awsrequest.AWSRequest(method=c['method'], url=url, data=c['body'].encode('utf-8'),
                                headers={'Content-Type': 'application/x-amz-json-1.1'})
    auth.SigV4Auth(credentials.Credentials(spec['akid'], spec['secret']), 'ecr', 'us-east-1').add_auth(req)
    p = req.prepare()
    headers = {k: (v.decode('latin-1') if isinstance(v, bytes) else v) for k, v in p.headers.items()}
    out.append({'url': p.url, 'headers': headers})
print(json.dumps(out))
`;

interface BotocoreSigned {
  url: string;
  headers: Record<string, string>;
}

async function findBotocore(): Promise<[string, string] | null> {
  for (const [python, prefix] of [
    ['python3', 'botocore'],
    ['/usr/bin/python3', 'awscli.botocore'],
  ] as const) {
    const ok = await new Promise<boolean>((resolve) =>
      execFile(python, ['-c', `import ${prefix}.auth`], { timeout: 30_000 }, (err) => resolve(!err)),
    );
    if (ok) return [python, prefix];
  }
  return null;
}

function botocoreSign(python: string, prefix: string, endpoint: string, cases: Array<QueryCase & { method: string; body: string }>): Promise<BotocoreSigned[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(python, ['-c', BOTOCORE_SIGNER, prefix], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as BotocoreSigned[]);
    });
    child.stdin?.end(JSON.stringify({ endpoint, akid: AKID, secret: SECRET, cases }));
  });
}

function sendRaw(port: number, method: string, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', reject);
    r.end(body);
  });
}

const botocore = await findBotocore();

describe.skipIf(botocore === null)(`query strings signed by botocore (${botocore?.join(' ') ?? 'not installed'})`, () => {
  it('verifies every case, GET and POST with a body', async () => {
    const [python, prefix] = botocore!;
    const cases = CASES.flatMap((c) => [
      { ...c, method: 'GET', body: '' },
      { ...c, method: 'POST', body: '{"repositoryNames":["ሴ"]}' },
    ]);
    const signed = await botocoreSign(python, prefix, server.endpoint, cases);
    expect(signed).toHaveLength(cases.length);
    for (const [i, s] of signed.entries()) {
      const c = cases[i]!;
      const path = s.url.slice(server.endpoint.length);
      const status = await sendRaw(server.port, c.method, path, s.headers, c.body);
      const seen = server.seen.at(-1);
      expect(seen?.url).toBe(path);
      if (!seen?.result.ok) throw new Error(`${c.method} ${c.name} refused: ${JSON.stringify(seen?.result)}`);
      expect(status).toBe(200);
    }
  });
});

describe('direct calls (no socket)', () => {
  it('verifies the SDK-signed request handed over as parsed pieces', async () => {
    const signed = await awsSign({ method: 'GET', path: '/x%20y/', query: { a: ['2', '1'], 'b c': 'ሴ' } });
    expect(signed.query).toBe('a=2&a=1&b%20c=%E1%88%B4');
    expect((await verifySigV4(signed, { lookupSecret, service: 'ecr' })).ok).toBe(true);
  });
});

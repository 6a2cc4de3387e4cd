// Test helpers: requests signed by the real AWS signer (@smithy/signature-v4, the one the JS SDK
// uses), and a node:http server that verifies what arrives on the wire.

import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { verifySigV4, type SignedRequest, type VerifyOptions, type VerifyResult } from '../../../src/auth/sigv4/index.js';

export const AKID = 'AKIAWHARFTEST0000001';
export const SECRET = 'wharf/Secret+Key/0123456789ABCDEFGHIJabcd';
export const HOST = 'api.ecr.us-east-1.amazonaws.com';
export const ECR_TARGET = 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories';
export const ECR_CONTENT_TYPE = 'application/x-amz-json-1.1';

export const lookupSecret = async (id: string): Promise<string | null> => (id === AKID ? SECRET : null);

export type Query = Record<string, string | string[] | null>;

export interface ToSign {
  method: string;
  /** The path as the SDK puts it on the wire (already escaped by the protocol serializer). */
  path: string;
  query?: Query;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  host?: string;
}

export interface SignOptions {
  service?: string;
  region?: string;
  accessKeyId?: string;
  secret?: string;
  sessionToken?: string;
  date?: Date;
  /** false: no x-amz-content-sha256 header (the signer still hashes the body). */
  applyChecksum?: boolean;
  uriEscapePath?: boolean;
}

/** The SDK's escapeUri: encodeURIComponent plus !'()*. */
const escapeUri = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** What the SDK's node-http-handler puts after '?': keys sorted, each value escaped. */
export function buildQueryString(query: Query): string {
  const parts: string[] = [];
  for (const rawKey of Object.keys(query).sort()) {
    const value = query[rawKey];
    const key = escapeUri(rawKey);
    if (Array.isArray(value)) for (const v of value) parts.push(`${key}=${escapeUri(v)}`);
    else parts.push(value === null || value === undefined ? key : `${key}=${escapeUri(value)}`);
  }
  return parts.join('&');
}

export interface Signed extends SignedRequest {
  headers: Record<string, string>;
  body: Buffer;
}

/** Signs with the real AWS signer and returns the request as a server would receive it. */
export async function awsSign(input: ToSign, o: SignOptions = {}): Promise<Signed> {
  const signer = new SignatureV4({
    service: o.service ?? 'ecr',
    region: o.region ?? 'us-east-1',
    credentials: {
      accessKeyId: o.accessKeyId ?? AKID,
      secretAccessKey: o.secret ?? SECRET,
      ...(o.sessionToken !== undefined ? { sessionToken: o.sessionToken } : {}),
    },
    sha256: Sha256,
    applyChecksum: o.applyChecksum ?? true,
    uriEscapePath: o.uriEscapePath ?? true,
  });
  const host = input.host ?? HOST;
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: 'http:',
      hostname: host.replace(/:\d+$/, ''),
      path: input.path,
      query: input.query ?? {},
      headers: { host, ...input.headers },
      body: input.body,
    },
    { signingDate: o.date ?? new Date() },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  const body = input.body === undefined ? Buffer.alloc(0) : Buffer.from(input.body);
  return { method: signed.method, path: signed.path, query: buildQueryString(signed.query ?? {}), headers, body };
}

/** An ECR JSON 1.1 call the way @aws-sdk/client-ecr shapes it. */
export function ecrCall(body = '{"maxResults":10}', target = ECR_TARGET): ToSign {
  return {
    method: 'POST',
    path: '/',
    headers: {
      'content-type': ECR_CONTENT_TYPE,
      'x-amz-target': target,
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  };
}

/** Rewrites the Authorization header of a signed request. */
export function withAuthorization(req: Signed, edit: (auth: string) => string): Signed {
  const authorization = req.headers['authorization'];
  if (authorization === undefined) throw new Error('request is not signed');
  return { ...req, headers: { ...req.headers, authorization: edit(authorization) } };
}

export function withoutHeader(req: Signed, name: string): Signed {
  const headers = { ...req.headers };
  delete headers[name];
  return { ...req, headers };
}

export function withHeader(req: Signed, name: string, value: string): Signed {
  return { ...req, headers: { ...req.headers, [name]: value } };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string[] | undefined>;
  result: VerifyResult;
}

export interface VerifyServer {
  port: number;
  endpoint: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A stand-in for Wharf's ECR endpoint: verifies every request with verifySigV4 and answers
 * `{"repositories":[]}` when it verifies, or the AWS JSON error (status, x-amzn-ErrorType,
 * `{"__type","message"}`) when it does not.
 */
export async function startVerifyServer(opts: Omit<VerifyOptions, 'lookupSecret'> & Partial<Pick<VerifyOptions, 'lookupSecret'>> = {}): Promise<VerifyServer> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const result = await verifySigV4(
        {
          method: req.method ?? 'GET',
          path: q < 0 ? url : url.slice(0, q),
          query: q < 0 ? '' : url.slice(q + 1),
          headers: req.headersDistinct,
          body,
        },
        { lookupSecret, service: 'ecr', region: 'us-east-1', ...opts },
      );
      seen.push({ method: req.method ?? '', url, headers: req.headersDistinct, result });
      res.setHeader('content-type', ECR_CONTENT_TYPE);
      if (result.ok) {
        res.statusCode = 200;
        res.end('{"repositories":[]}');
      } else {
        res.statusCode = result.error.status;
        res.setHeader('x-amzn-ErrorType', result.error.type);
        res.end(JSON.stringify({ __type: result.error.type, message: result.error.message }));
      }
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends an already-signed request over a real socket, path and query byte for byte. */
export function sendSigned(port: number, req: Signed): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: req.query === '' ? req.path : `${req.path}?${req.query}`,
        headers: req.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

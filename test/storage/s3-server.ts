// An S3 endpoint for the storage tests: s3rver on 127.0.0.1 with a temp directory, or the
// bucket that WHARF_TEST_S3_URL names (MinIO, AWS, ...), in which case s3rver is not started.
//
// s3rver lacks three operations real S3 has (UploadPartCopy, AbortMultipartUpload,
// ListMultipartUploads) and does not enforce the 5 MiB minimum size of every part but
// the last. With `emulate` (the default) a middleware in front of it supplies the three
// from its own store and enforces the minimum, so the driver's copy path is exercised
// and a part-size mistake fails here as it would on S3. Without it, the server answers
// NotImplemented to UploadPartCopy, as some S3-compatible gateways do.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { parseS3Url, type S3StoreOptions } from '../../src/storage/s3-url.js';

export interface TestS3 {
  /** true when WHARF_TEST_S3_URL points at a real bucket */
  external: boolean;
  bucket: string;
  /** a storage URL for a fresh prefix under this endpoint; extra parameters appended */
  url(extra?: Record<string, string>): string;
  options(extra?: Record<string, string>): S3StoreOptions;
  /** a client on the same endpoint, for inspecting the bucket from tests */
  client: S3Client;
  /** keys under a prefix (tests only: the driver never lists outside an upload's prefix) */
  keys(prefix: string): Promise<string[]>;
  stop(): Promise<void>;
}

const MIN_PART = 5 * 1024 * 1024;

export async function startTestS3(opts: { emulate?: boolean } = {}): Promise<TestS3> {
  const external = process.env.WHARF_TEST_S3_URL;
  let base: URL;
  let stopServer = async () => undefined as void;
  if (external) {
    base = new URL(external);
  } else {
    const directory = await mkdtemp(join(tmpdir(), 'wharf-s3rver-'));
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: 'wharf-test', configs: [] }] });
    if (opts.emulate !== false) emulateMissingOperations(server);
    const { port } = await server.run();
    base = new URL(`s3://wharf-test/tests?endpoint=http://127.0.0.1:${port}&region=us-east-1&forcePathStyle=true&accessKeyId=S3RVER&secretAccessKey=S3RVER`);
    stopServer = async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    };
  }
  const baseOptions = parseS3Url(base.toString());
  const client = new S3Client({
    ...(baseOptions.endpoint ? { endpoint: baseOptions.endpoint } : {}),
    region: baseOptions.region ?? 'us-east-1',
    forcePathStyle: baseOptions.forcePathStyle,
    ...(baseOptions.credentials ? { credentials: baseOptions.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const prefixes: string[] = [];

  const keys = async (prefix: string) => {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: baseOptions.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) found.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  };

  const url = (extra: Record<string, string> = {}) => {
    const u = new URL(base.toString());
    const prefix = `${baseOptions.prefix ? `${baseOptions.prefix}/` : ''}t-${randomBytes(6).toString('hex')}`;
    prefixes.push(prefix);
    u.pathname = `/${prefix}`;
    for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
    return u.toString();
  };

  return {
    external: Boolean(external),
    bucket: baseOptions.bucket,
    url,
    options: (extra) => parseS3Url(url(extra)),
    client,
    keys,
    async stop() {
      if (external) {
        // Leave a shared bucket as we found it.
        for (const prefix of prefixes) {
          const found = await keys(`${prefix}/`);
          for (let i = 0; i < found.length; i += 1000) {
            await client.send(new DeleteObjectsCommand({ Bucket: baseOptions.bucket, Delete: { Objects: found.slice(i, i + 1000).map((Key) => ({ Key })) } }));
          }
        }
      }
      client.destroy();
      await stopServer();
    },
  };
}

// ---- s3rver additions

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getObject(bucket: string, key: string, range?: { start: number; end: number }): Promise<{ content: Readable | null } | null>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }>;
}

function emulateMissingOperations(server: S3rver): void {
  const internals = server as unknown as { middleware: Middleware[]; store: FilesystemStore };
  const store = internals.store;
  const uploadDir = (bucket: string, uploadId: string) => join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  const xml = (ctx: KoaContext, status: number, body: string) => {
    ctx.status = status;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  };
  const error = (ctx: KoaContext, status: number, code: string, message: string) =>
    xml(ctx, status, `<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

  const emulation: Middleware = async (ctx, next) => {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    const key = rest.join('/');
    const uploadId = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined;

    // UploadPartCopy
    if (ctx.method === 'PUT' && uploadId && key && typeof ctx.headers['x-amz-copy-source'] === 'string') {
      if (!(await exists(uploadDir(bucket, uploadId)))) return error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      const source = decodeURIComponent(ctx.headers['x-amz-copy-source']).replace(/^\//, '');
      const slash = source.indexOf('/');
      const [srcBucket, srcKey] = [source.slice(0, slash), source.slice(slash + 1)];
      const rangeHeader = ctx.headers['x-amz-copy-source-range'];
      const m = typeof rangeHeader === 'string' ? /^bytes=(\d+)-(\d+)$/.exec(rangeHeader) : null;
      // (s3rver reads end=0 as "to the end"; the driver never copies a one-byte range at 0.)
      const object = await store.getObject(srcBucket, srcKey, m ? { start: Number(m[1]), end: Number(m[2]) } : undefined);
      if (!object?.content) return error(ctx, 404, 'NoSuchKey', 'The specified key does not exist.');
      const { md5 } = await store.putPart(bucket, uploadId, Number(ctx.query.partNumber), object.content);
      return xml(ctx, 200, `<CopyPartResult><LastModified>${new Date().toISOString()}</LastModified><ETag>"${md5}"</ETag></CopyPartResult>`);
    }

    // AbortMultipartUpload
    if (ctx.method === 'DELETE' && uploadId && key) {
      const dir = uploadDir(bucket, uploadId);
      if (!(await exists(dir))) return error(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }

    // ListMultipartUploads
    if (ctx.method === 'GET' && !key && 'uploads' in ctx.query) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const root = store.getResourcePath(bucket, undefined, 'uploads');
      const ids = (await exists(root)) ? await readdir(root) : [];
      const uploads: string[] = [];
      for (const id of ids) {
        const uploadKey = await readFile(join(root, id, 'key'), 'utf8').catch(() => null);
        if (uploadKey !== null && uploadKey.startsWith(prefix)) {
          uploads.push(`<Upload><Key>${escape(uploadKey)}</Key><UploadId>${id}</UploadId></Upload>`);
        }
      }
      return xml(
        ctx,
        200,
        `<ListMultipartUploadsResult><Bucket>${bucket}</Bucket><Prefix>${escape(prefix)}</Prefix><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`,
      );
    }

    // CompleteMultipartUpload: S3 refuses parts under 5 MiB except the last.
    if (ctx.method === 'POST' && uploadId && key) {
      const dir = uploadDir(bucket, uploadId);
      if (await exists(dir)) {
        const numbers = (await readdir(dir))
          .filter((f) => /^\d+$/.test(f))
          .map(Number)
          .sort((a, b) => a - b);
        for (const n of numbers.slice(0, -1)) {
          const { size } = await stat(join(dir, String(n)));
          if (size < MIN_PART) return error(ctx, 400, 'EntityTooSmall', `Part ${n} is ${size} bytes; every part but the last must be at least 5 MiB.`);
        }
      }
    }
    await next();
  };
  // Koa composes its middleware when the server starts listening (run()).
  internals.middleware.unshift(emulation);
}

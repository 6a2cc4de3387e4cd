// The grammar of an s3:// storage URL. Pure (no AWS SDK import), so configuration
// validation can use it without loading the driver.

/** Where and how the S3 driver stores blobs; see parseS3Url for the URL form. */
export interface S3StoreOptions {
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph RGW, ...); AWS's own when absent. */
  endpoint?: string;
  /** Absent: the AWS chain's region (AWS_REGION, profile), or us-east-1 with a custom endpoint. */
  region?: string;
  forcePathStyle: boolean;
  sse?: 'AES256' | 'aws:kms';
  sseKmsKeyId?: string;
  /** Storage class of committed blobs (staged upload parts stay STANDARD). */
  storageClass?: string;
  /** Static credentials, for tests and development; absent: the AWS credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Size of the staged parts a chunk is cut into, and of the buffers that hold them (bytes). */
  partSize: number;
}

export const MIB = 1024 * 1024;
/** S3's smallest multipart part (except the last). */
export const MIN_PART_SIZE = 5 * MIB;
/** S3's largest part, and the largest object a single CopyObject copies. */
export const MAX_PART_SIZE = 5 * 1024 * MIB;

const PARAMS = [
  'endpoint',
  'region',
  'forcePathStyle',
  'sse',
  'sseKmsKeyId',
  'storageClass',
  'partSize',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
] as const;

// Archive classes need a restore before a GET: a registry cannot serve blobs from them.
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export const S3_URL_EXAMPLE = 's3://bucket/prefix?region=us-east-1';

export class S3UrlError extends Error {
  override name = 'S3UrlError';
}

/**
 * Parses `s3://bucket[/prefix][?param=value&...]`. Parameters: endpoint (http[s]://host:port),
 * region, forcePathStyle (true|false), sse (AES256|aws:kms), sseKmsKeyId, storageClass,
 * partSize (bytes or e.g. 8MiB; at least 5MiB), and accessKeyId + secretAccessKey
 * [+ sessionToken] for tests and development only (prefer the AWS credential chain).
 * Errors name the problem but never echo a secret.
 */
export function parseS3Url(text: string): S3StoreOptions {
  const fail = (problem: string): never => {
    throw new S3UrlError(`storage URL ${redactStorageUrl(text)}: ${problem}`);
  };
  if (!text.startsWith('s3://')) fail(`must start with s3://, e.g. ${S3_URL_EXAMPLE}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`is not a valid URL; use e.g. ${S3_URL_EXAMPLE}`);
  }
  if (url.username || url.password) {
    fail('credentials do not belong before the bucket: use the AWS credential chain (or, for tests, accessKeyId=&secretAccessKey=)');
  }
  if (url.port) fail('a port belongs in the endpoint parameter, e.g. ?endpoint=http://127.0.0.1:9000');
  if (url.hash) fail('must not contain a #fragment');

  const bucket = url.hostname;
  if (!bucket) fail(`names no bucket; use e.g. ${S3_URL_EXAMPLE}`);
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    fail(`"${bucket}" is not a valid bucket name (3 to 63 lowercase letters, digits, dots and hyphens)`);
  }

  // From the text as written: the URL parser would quietly resolve "." and ".." segments.
  const rest = text.slice('s3://'.length).split(/[?#]/)[0] ?? '';
  const prefix = (rest.includes('/') ? rest.slice(rest.indexOf('/')) : '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '') {
    if (!/^[A-Za-z0-9._\-/]+$/.test(prefix)) fail(`prefix "${prefix}" may contain only letters, digits, ".", "_", "-" and "/"`);
    if (prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) fail(`prefix "${prefix}" has an empty, "." or ".." segment`);
  }

  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!(PARAMS as readonly string[]).includes(key)) fail(`unknown parameter "${key}" (known: ${PARAMS.join(', ')})`);
    if (params.has(key)) fail(`parameter "${key}" is given twice`);
    params.set(key, value);
  }

  const options: S3StoreOptions = { bucket, prefix, forcePathStyle: false, partSize: MIN_PART_SIZE };

  const endpoint = params.get('endpoint');
  if (endpoint !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(endpoint);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || !parsed.host) {
      fail(`endpoint "${endpoint}" must be an http:// or https:// URL, e.g. http://127.0.0.1:9000`);
    } else {
      if (parsed.username || parsed.password) fail('endpoint must not contain credentials');
      options.endpoint = endpoint.replace(/\/+$/, '');
    }
  }

  const region = params.get('region');
  if (region !== undefined) {
    if (!/^[a-z0-9-]{1,64}$/.test(region)) fail(`region "${region}" is not a region name such as us-east-1`);
    options.region = region;
  }

  const pathStyle = params.get('forcePathStyle');
  if (pathStyle !== undefined) {
    if (!['true', 'false', '1', '0'].includes(pathStyle)) fail(`forcePathStyle "${pathStyle}" must be true or false`);
    options.forcePathStyle = pathStyle === 'true' || pathStyle === '1';
  }

  const sse = params.get('sse');
  if (sse !== undefined) {
    if (sse !== 'AES256' && sse !== 'aws:kms') fail(`sse "${sse}" must be AES256 or aws:kms`);
    options.sse = sse as 'AES256' | 'aws:kms';
  }
  const kmsKey = params.get('sseKmsKeyId');
  if (kmsKey !== undefined) {
    if (options.sse !== 'aws:kms') fail('sseKmsKeyId needs sse=aws:kms');
    if (kmsKey === '') fail('sseKmsKeyId is empty');
    options.sseKmsKeyId = kmsKey;
  }

  const storageClass = params.get('storageClass');
  if (storageClass !== undefined) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(storageClass)) fail(`storageClass "${storageClass}" must be an S3 storage class such as STANDARD or STANDARD_IA`);
    if (ARCHIVE_CLASSES.has(storageClass)) fail(`storageClass ${storageClass} needs a restore before every read; use STANDARD, STANDARD_IA, INTELLIGENT_TIERING or GLACIER_IR`);
    options.storageClass = storageClass;
  }

  const partSize = params.get('partSize');
  if (partSize !== undefined) {
    const m = /^(\d+)(KiB|MiB|GiB)?$/.exec(partSize);
    const bytes = m ? Number(m[1]) * (m[2] === 'GiB' ? 1024 * MIB : m[2] === 'MiB' ? MIB : m[2] === 'KiB' ? 1024 : 1) : NaN;
    if (!Number.isSafeInteger(bytes) || bytes < MIN_PART_SIZE || bytes > MAX_PART_SIZE) {
      fail(`partSize "${partSize}" must be from 5MiB to 5GiB (bytes, or with KiB, MiB or GiB)`);
    }
    options.partSize = bytes;
  }

  const accessKeyId = params.get('accessKeyId');
  const secretAccessKey = params.get('secretAccessKey');
  const sessionToken = params.get('sessionToken');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) fail('accessKeyId and secretAccessKey go together');
  if (sessionToken !== undefined && accessKeyId === undefined) fail('sessionToken needs accessKeyId and secretAccessKey');
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    if (accessKeyId === '' || secretAccessKey === '') fail('accessKeyId and secretAccessKey must not be empty');
    options.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  return options;
}

/** The URL with secretAccessKey and sessionToken masked, for logs and error messages. */
export function redactStorageUrl(text: string): string {
  return text.replace(/([?&](?:secretAccessKey|sessionToken)=)[^&#]*/g, '$1***');
}

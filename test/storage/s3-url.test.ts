// The s3:// storage URL: what it accepts, and the messages a malformed one gets, both
// from the parser and through configuration loading.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { openBlobStore } from '../../src/storage/open.js';
import { parseS3Url, redactStorageUrl } from '../../src/storage/s3-url.js';

const MiB = 1024 * 1024;

describe('s3:// storage URLs', () => {
  it('reads bucket, prefix and every parameter', () => {
    expect(
      parseS3Url(
        's3://my-bucket/wharf/prod/?endpoint=http://127.0.0.1:9000/&region=eu-west-1&forcePathStyle=true&sse=aws:kms&sseKmsKeyId=alias/wharf&storageClass=STANDARD_IA&partSize=16MiB&accessKeyId=AK&secretAccessKey=SK&sessionToken=T',
      ),
    ).toEqual({
      bucket: 'my-bucket',
      prefix: 'wharf/prod',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      sse: 'aws:kms',
      sseKmsKeyId: 'alias/wharf',
      storageClass: 'STANDARD_IA',
      partSize: 16 * MiB,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'T' },
    });
  });

  it('defaults to the bucket root, virtual-hosted style, 5 MiB parts and the AWS credential chain', () => {
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '', forcePathStyle: false, partSize: 5 * MiB });
    expect(parseS3Url('s3://bucket/').prefix).toBe('');
  });

  it.each([
    ['s3://', /names no bucket/],
    ['s3://Bad_Bucket/x', /not a valid bucket name/],
    ['s3://ab', /not a valid bucket name/],
    ['s3://bucket:9000/x', /port belongs in the endpoint/],
    ['s3://key:secret@bucket/x', /AWS credential chain/],
    ['s3://bucket/a//b', /empty, "\." or "\.\." segment/],
    ['s3://bucket/a/../b', /segment|may contain only/],
    ['s3://bucket/a b', /may contain only/],
    ['s3://bucket?endpoint=127.0.0.1:9000', /must be an http:\/\/ or https:\/\/ URL/],
    ['s3://bucket?endpoint=ftp://host', /must be an http:\/\/ or https:\/\/ URL/],
    ['s3://bucket?forcePathStyle=yes', /forcePathStyle "yes" must be true or false/],
    ['s3://bucket?sse=aes', /sse "aes" must be AES256 or aws:kms/],
    ['s3://bucket?sse=AES256&sseKmsKeyId=k', /sseKmsKeyId needs sse=aws:kms/],
    ['s3://bucket?storageClass=GLACIER', /needs a restore/],
    ['s3://bucket?storageClass=standard', /must be an S3 storage class/],
    ['s3://bucket?partSize=1MiB', /partSize "1MiB" must be from 5MiB to 5GiB/],
    ['s3://bucket?accessKeyId=AK', /accessKeyId and secretAccessKey go together/],
    ['s3://bucket?region=US_EAST', /not a region name/],
    ['s3://bucket?endPoint=http://x', /unknown parameter "endPoint" \(known: endpoint, /],
    ['s3://bucket?region=a&region=b', /given twice/],
  ])('rejects %s', (url, message) => {
    expect(() => parseS3Url(url)).toThrow(message);
  });

  it('never repeats a secret in a message', () => {
    const url = 's3://bucket?secretAccessKey=SUPERSECRET&sessionToken=TOKENSECRET';
    expect(() => parseS3Url(url)).toThrow(/go together/);
    try {
      parseS3Url(url);
    } catch (err) {
      expect((err as Error).message).not.toMatch(/SUPERSECRET|TOKENSECRET/);
    }
    expect(redactStorageUrl('s3://b/p?accessKeyId=AK&secretAccessKey=SK&region=x')).toBe('s3://b/p?accessKeyId=AK&secretAccessKey=***&region=x');
  });
});

describe('storageUrl configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-s3-config-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('accepts file: and s3:// URLs', () => {
    const url = 's3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true&sse=AES256&storageClass=STANDARD';
    expect(loadConfig({ env: {}, cwd: dir, flags: { storageUrl: url } }).storageUrl).toBe(url);
    expect(loadConfig({ env: { WHARF_STORAGE_URL: 'file:/tmp/blobs' }, cwd: dir }).storageUrl).toBe('file:/tmp/blobs');
  });

  it('names the setting and the problem for a malformed URL', () => {
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { storageUrl: 's3://Bad_Bucket' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { storageUrl: 's3://Bad_Bucket' } })).toThrow(/--storage-url: .*not a valid bucket name/);
    expect(() => loadConfig({ env: { WHARF_STORAGE_URL: 's3://bucket?sse=yes' }, cwd: dir })).toThrow(/WHARF_STORAGE_URL: .*sse "yes" must be AES256 or aws:kms/);
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { storageUrl: 'gs://bucket' } })).toThrow(/--storage-url: must be file:<directory> or s3:\/\//);
  });

  it('opens the S3 driver for an s3:// URL without contacting the bucket', async () => {
    const store = await openBlobStore('s3://bucket/prefix?endpoint=http://127.0.0.1:9&region=us-east-1&forcePathStyle=true&accessKeyId=a&secretAccessKey=b');
    expect(store.kind).toBe('s3');
    expect(typeof store.presignedReadUrl).toBe('function');
    await expect(openBlobStore('gs://bucket')).rejects.toThrow(/use file:<directory> or s3:\/\/bucket\/prefix/);
  });
});

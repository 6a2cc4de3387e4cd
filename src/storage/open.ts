import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-store.js';
import { parseS3Url, redactStorageUrl } from './s3-url.js';

/**
 * Opens the blob store a storage URL names: `file:<dir>` (relative or absolute),
 * `file:///abs/dir`, or `s3://bucket[/prefix][?endpoint=...&region=...]` (see s3-url.ts).
 */
export async function openBlobStore(url: string): Promise<BlobStore> {
  if (url.startsWith('file:')) {
    const path = url.startsWith('file://') ? fileURLToPath(url) : resolve(url.slice('file:'.length));
    const store = new FsBlobStore(path);
    await store.init();
    return store;
  }
  if (url.startsWith('s3://')) {
    const options = parseS3Url(url);
    // Loaded only when used: the AWS SDK is large.
    const { S3BlobStore } = await import('./s3-store.js');
    return new S3BlobStore(options);
  }
  throw new Error(`unsupported storage URL "${redactStorageUrl(url)}": use file:<directory> or s3://bucket/prefix`);
}

/** The storage URL with its secrets masked, for logs. */
export { redactStorageUrl };

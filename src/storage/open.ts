import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-store.js';

/** Opens the blob store a storage URL names: `file:<dir>` (relative or absolute) or `file:///abs/dir`. */
export async function openBlobStore(url: string): Promise<BlobStore> {
  if (url.startsWith('file:')) {
    const path = url.startsWith('file://') ? fileURLToPath(url) : resolve(url.slice('file:'.length));
    const store = new FsBlobStore(path);
    await store.init();
    return store;
  }
  throw new Error(`unsupported storage URL "${url}": use file:<directory>`);
}

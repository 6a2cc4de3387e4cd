// end-1 (GET /v2/) and the shape of error bodies.
import { describe, expect, it } from 'vitest';
import {
  expectOciError,
  isReference,
  readOciError,
  repoName,
  testDatabases,
  unknownDigest,
  useRegistry,
} from '../helpers/oci.js';

describe.each(testDatabases())('base API on %s', (database) => {
  const r = useRegistry(database);

  it('GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0', async () => {
    const res = await r.c.fetch('/v2/');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    await res.arrayBuffer();
  });

  it('GET /v2 (no trailing slash) does not fail with a server error', async () => {
    const res = await r.c.fetch('/v2');
    await res.arrayBuffer();
    expect(res.status).toBeLessThan(500);
  });

  it('error bodies are {"errors":[{code,message,detail}]} with Content-Type application/json', async () => {
    const repo = repoName('errors');
    await r.c.pushImage(repo, 'v1'); // the repository exists, so the blob/manifest codes are unambiguous
    const cases: Array<[string, RequestInit, number, string]> = [
      [`/v2/${repo}/blobs/${unknownDigest()}`, {}, 404, 'BLOB_UNKNOWN'],
      [`/v2/${repo}/manifests/nosuchtag`, {}, 404, 'MANIFEST_UNKNOWN'],
      [`/v2/${repoName('nosuch')}/tags/list`, {}, 404, 'NAME_UNKNOWN'],
      [`/v2/${repo}/blobs/sha256:xyz`, {}, 400, 'DIGEST_INVALID'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await r.c.fetch(path, init);
      const errors = await expectOciError(res, status, code);
      for (const e of errors) {
        expect(Object.keys(e).every((k) => ['code', 'message', 'detail'].includes(k))).toBe(true);
      }
    }
  });

  it('every error entry has an upper-case code and a string message', async () => {
    const repo = repoName('errors');
    await r.c.pushImage(repo, 'v1');
    const res = await r.c.fetch(`/v2/${repo}/manifests/${unknownDigest()}`);
    expect(res.status).toBe(404);
    const errors = await readOciError(res);
    for (const e of errors) {
      expect(e.code).toMatch(/^[A-Z_]+$/);
      expect(typeof e.message).toBe('string');
    }
  });

  it.skipIf(isReference)('an unknown upload session answers BLOB_UPLOAD_UNKNOWN in the standard error shape', async () => {
    // reference 2.8.2: answers BLOB_UPLOAD_INVALID when the upload URL lacks its _state token
    const res = await r.c.fetch(`/v2/${repoName('errors')}/blobs/uploads/00000000-0000-4000-8000-000000000000`);
    await expectOciError(res, 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

// A failure of the registry itself (here: a broken database) after the request body was
// read must still answer, with 500 in the OCI format and no internals, not leave the client waiting.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWharf, type TestWharf } from '../helpers/wharf.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('internal errors', () => {
  let server: TestWharf;
  beforeAll(async () => {
    server = await startWharf();
  });
  afterAll(async () => server.stop());

  it('answers 500 UNKNOWN when the database fails after the manifest body was read', async () => {
    const config = Buffer.from('{}');
    expect((await fetch(`${server.url}/v2/broken/blobs/uploads/?digest=${sha256(config)}`, { method: 'POST', body: config })).status).toBe(201);
    await sql`drop table tags`.execute(server.wharf.registry.metadata.connection.db);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [],
    });
    const res = await fetch(`${server.url}/v2/broken/manifests/v1`, {
      method: 'PUT',
      body: manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('UNKNOWN');
    expect(body.errors[0]!.message).not.toMatch(/tags|sqlite/i);
  });
});

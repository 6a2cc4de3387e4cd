// An upload's chunks go to one process and its closing PUT to another (a cluster worker or
// a second node): the PUT uses the digest recorded with the last acknowledged chunk instead
// of reading the whole upload back, and never trusts a digest recorded for other bytes.
// Two real servers in this process share one database and one storage directory.
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWharf, testDatabases, type TestWharf } from '../helpers/wharf.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MiB = 1024 * 1024;

describe.each(testDatabases())('upload digest hand-off between processes (%s)', (database) => {
  let a: TestWharf;
  let b: TestWharf;
  const reads = new Map<TestWharf, number>();

  /** Counts the upload read-backs (re-hashing) each server does. */
  const countReads = (server: TestWharf) => {
    reads.set(server, 0);
    const store = server.wharf.registry.blobs;
    const readUpload = store.readUpload.bind(store);
    store.readUpload = async (id: string, size: number): Promise<Readable> => {
      reads.set(server, reads.get(server)! + 1);
      return readUpload(id, size);
    };
  };

  beforeAll(async () => {
    a = await startWharf({ database });
    b = await startWharf({ dataDir: a.dataDir, databaseUrl: a.databaseUrl });
    countReads(a);
    countReads(b);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const begin = async (server: TestWharf, repo: string) => {
    const res = await fetch(`${server.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    expect(res.status).toBe(202);
    return new URL(res.headers.get('location')!, server.url).pathname;
  };
  const patch = async (server: TestWharf, path: string, offset: number, chunk: Buffer) => {
    const res = await fetch(`${server.url}${path}`, { method: 'PATCH', body: new Uint8Array(chunk), headers: { 'content-range': `${offset}-${offset + chunk.length - 1}` } });
    expect(res.status).toBe(202);
  };
  const recorded = async (path: string) => {
    const id = path.split('/').pop()!;
    const row = await a.wharf.registry.metadata.connection.db.selectFrom('uploads').select(['size', 'digest']).where('id', '=', id).executeTakeFirst();
    return row ? { size: Number(row.size), digest: row.digest } : undefined;
  };

  it('finishes on the other process without reading the upload back', async () => {
    const repo = `handoff/${database}-a`;
    // A chunk hashed inline, then one that moves the state to the hashing thread.
    const chunks = [randomBytes(70_000), randomBytes(3 * MiB + 5)];
    const blob = Buffer.concat(chunks);
    const path = await begin(a, repo);
    await patch(a, path, 0, chunks[0]!);
    expect(await recorded(path)).toEqual({ size: chunks[0]!.length, digest: sha256(chunks[0]!) });
    await patch(a, path, chunks[0]!.length, chunks[1]!);
    expect(await recorded(path)).toEqual({ size: blob.length, digest: sha256(blob) });

    const before = reads.get(b)!;
    // A wrong digest is still refused, from the recorded one alone.
    const wrong = await fetch(`${b.url}${path}?digest=${sha256(Buffer.from('other'))}`, { method: 'PUT' });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('DIGEST_INVALID');

    const path2 = await begin(a, repo);
    await patch(a, path2, 0, blob);
    const put = await fetch(`${b.url}${path2}?digest=${sha256(blob)}`, { method: 'PUT' });
    expect(put.status).toBe(201);
    expect(reads.get(b)).toBe(before);
    const pulled = await fetch(`${b.url}/v2/${repo}/blobs/${sha256(blob)}`);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(blob)).toBe(true);
  });

  it('re-reads when the last chunk went to a process that could not hash it', async () => {
    const repo = `handoff/${database}-b`;
    const chunks = [randomBytes(2 * MiB), randomBytes(MiB + 1)];
    const blob = Buffer.concat(chunks);
    const path = await begin(a, repo);
    await patch(a, path, 0, chunks[0]!);
    // b holds no hash state for this upload: it records no digest for the new size.
    await patch(b, path, chunks[0]!.length, chunks[1]!);
    expect(await recorded(path)).toEqual({ size: blob.length, digest: null });
    const before = reads.get(a)!;
    const put = await fetch(`${a.url}${path}?digest=${sha256(blob)}`, { method: 'PUT' });
    expect(put.status).toBe(201);
    expect(reads.get(a)).toBe(before + 1);
  });
});

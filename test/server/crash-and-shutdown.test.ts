// The server as a process: killed mid-upload it restarts consistent; SIGTERM lets
// in-flight requests finish; abandoned uploads expire and give their space back.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnWharf } from '../helpers/process.js';
import { freshPostgresUrl, startWharf, testDatabases } from '../helpers/wharf.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Starts a PATCH whose body is sent in part and then left hanging; returns a way to finish it. */
function hangingPatch(url: string, first: Buffer) {
  const req = request(url, { method: 'PATCH', headers: { 'content-type': 'application/octet-stream' } });
  const response = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  req.write(first);
  return { response, finish: (last: Buffer) => req.end(last), abort: () => req.destroy() };
}

describe.each(testDatabases())('crash consistency on %s', (database) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('SIGKILL mid-upload: the upload resumes from the acknowledged offset and nothing partial is visible', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wharf-crash-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    let databaseUrl: string | undefined;
    if (database === 'postgres') {
      const pg = await freshPostgresUrl();
      databaseUrl = pg.url;
      cleanups.push(() => pg.drop());
    }
    // A writer killed mid-chunk keeps its claim on the upload until the lease runs out.
    const flags = ['--upload-lease', '2s'];
    const first = await spawnWharf({ dataDir, databaseUrl, flags });
    cleanups.push(() => first.stop('SIGKILL'));

    const chunk1 = randomBytes(1024 * 1024);
    const chunk2 = randomBytes(512 * 1024);
    const blob = Buffer.concat([chunk1, chunk2]);
    const start = await fetch(`${first.url}/v2/crash/test/blobs/uploads/`, { method: 'POST' });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get('location')!, first.url).pathname;
    const p1 = await fetch(`${first.url}${location}`, { method: 'PATCH', body: chunk1, headers: { 'content-range': `0-${chunk1.length - 1}` } });
    expect(p1.status).toBe(202);

    // A second chunk half-sent when the server dies.
    const hanging = hangingPatch(`${first.url}${location}`, chunk2.subarray(0, 100_000));
    hanging.response.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    // A monolithic push half-sent too: it must never become visible.
    const mono = randomBytes(300_000);
    const monoReq = request(`${first.url}/v2/crash/test/blobs/uploads/?digest=${sha256(mono)}`, { method: 'POST', headers: { 'content-length': String(mono.length) } });
    monoReq.on('error', () => undefined);
    monoReq.write(mono.subarray(0, 150_000));
    await new Promise((r) => setTimeout(r, 200));
    await first.stop('SIGKILL');

    const second = await spawnWharf({ dataDir, databaseUrl, flags });
    cleanups.push(() => second.stop());
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);

    const status = await fetch(`${second.url}${location}`);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${chunk1.length - 1}`);
    // On SQLite the restart itself releases the dead writer's lease (every writer lives on
    // this machine); on PostgreSQL another node may be writing, so the lease must run out.
    const resume = () =>
      fetch(`${second.url}${location}`, { method: 'PATCH', body: chunk2, headers: { 'content-range': `${chunk1.length}-${blob.length - 1}` } });
    let resumed = await resume();
    if (database === 'postgres' && resumed.status === 416) {
      // Still within the dead writer's lease (unless the restart itself outlasted it): told where to resume.
      expect(resumed.headers.get('range')).toBe(`0-${chunk1.length - 1}`);
      const deadline = Date.now() + 10_000;
      while (resumed.status === 416 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        resumed = await resume();
      }
    }
    expect(resumed.status).toBe(202);
    const done = await fetch(`${second.url}${location}?digest=${sha256(blob)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    const pulled = Buffer.from(await (await fetch(`${second.url}/v2/crash/test/blobs/${sha256(blob)}`)).arrayBuffer());
    expect(pulled.equals(blob)).toBe(true);

    expect((await fetch(`${second.url}/v2/crash/test/blobs/${sha256(mono)}`, { method: 'HEAD' })).status).toBe(404);
    expect(await second.stop()).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM lets an in-flight upload finish, refuses new work, and exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wharf-term-'));
    const server = await spawnWharf({ dataDir });
    try {
      const start = await fetch(`${server.url}/v2/term/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, server.url).pathname;
      const body = randomBytes(200_000);
      const hanging = hangingPatch(`${server.url}${location}`, body.subarray(0, 1000));
      await new Promise((r) => setTimeout(r, 200));
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      // Still running: it is waiting for the in-flight request.
      expect(server.child.exitCode).toBeNull();
      await expect(fetch(`${server.url}/v2/`)).rejects.toThrow();
      hanging.finish(body.subarray(1000));
      expect(await hanging.response).toBe(202);
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain('stopped cleanly');
    } finally {
      await server.stop('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('bounds the wait with --shutdown-timeout', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wharf-term-'));
    const server = await spawnWharf({ dataDir, flags: ['--shutdown-timeout', '500ms'] });
    try {
      const start = await fetch(`${server.url}/v2/term/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, server.url).pathname;
      const hanging = hangingPatch(`${server.url}${location}`, randomBytes(1000));
      hanging.response.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      const began = Date.now();
      server.child.kill('SIGTERM');
      await server.stop();
      expect(Date.now() - began).toBeLessThan(10_000);
      expect(server.output()).toContain('did not finish in time');
    } finally {
      await server.stop('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('upload expiry', () => {
  it('removes uploads idle past the TTL and reclaims their space', async () => {
    const server = await startWharf({ config: { uploadTtl: '1s' } });
    try {
      const start = await fetch(`${server.url}/v2/expire/me/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, server.url).pathname;
      expect((await fetch(`${server.url}${location}`, { method: 'PATCH', body: randomBytes(5000) })).status).toBe(202);
      expect(await readdir(join(server.dataDir, 'blobs', '_uploads'))).toHaveLength(1);
      const deadline = Date.now() + 10_000;
      while ((await fetch(`${server.url}${location}`)).status !== 404) {
        if (Date.now() > deadline) throw new Error('upload did not expire');
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await readdir(join(server.dataDir, 'blobs', '_uploads'))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

// --workers 2: two processes share the port; one upload's chunks, each on a new
// connection, alternate between them and still assemble into the right blob.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnWharf } from '../helpers/process.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One request on its own connection (agent: false), so the cluster may route it to any worker. */
function send(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('cluster mode', () => {
  it('serves with --workers 2: chunked upload across workers, then SIGTERM stops every process', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wharf-cluster-'));
    const server = await spawnWharf({ dataDir, flags: ['--workers', '2'] });
    try {
      const chunks = Array.from({ length: 8 }, () => randomBytes(64 * 1024 + 17));
      const blob = Buffer.concat(chunks);
      const start = await send(`${server.url}/v2/cluster/blobs/uploads/`, 'POST');
      expect(start.status).toBe(202);
      const location = new URL(String(start.headers.location), server.url).toString();
      let offset = 0;
      for (const chunk of chunks) {
        const res = await send(location, 'PATCH', chunk, { 'content-range': `${offset}-${offset + chunk.length - 1}` });
        expect(res.status).toBe(202);
        offset += chunk.length;
      }
      expect((await send(`${location}?digest=${sha256(blob)}`, 'PUT')).status).toBe(201);
      const pulled = await send(`${server.url}/v2/cluster/blobs/${sha256(blob)}`, 'GET');
      expect(pulled.body.equals(blob)).toBe(true);
      // Logged once both workers listen, which on a loaded machine may come well after the
      // first one already serves: wait for it before stopping, or it is never logged.
      await expect.poll(() => server.output(), { timeout: 60_000, interval: 200 }).toMatch(/"workers":2.*wharf is ready/);
      expect(await server.stop()).toBe(0);
      expect(server.output().match(/stopped cleanly/g)?.length).toBeGreaterThanOrEqual(3);
    } finally {
      await server.stop('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps up with concurrent writes from both workers to one SQLite file', { timeout: 120_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wharf-cluster-'));
    const server = await spawnWharf({ dataDir, flags: ['--workers', '2'] });
    try {
      const config = Buffer.from('{}');
      await send(`${server.url}/v2/cluster/tags/blobs/uploads/?digest=${sha256(config)}`, 'POST', config);
      const put = async (client: number, i: number) => {
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
            layers: [],
            annotations: { client: String(client), i: String(i) },
          }),
        );
        // New connections, so both workers take writes.
        return (await send(`${server.url}/v2/cluster/tags/manifests/c${client}-${i}`, 'PUT', manifest, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' })).status;
      };
      const statuses = await Promise.all(
        Array.from({ length: 16 }, async (_, client) => {
          const out: number[] = [];
          for (let i = 0; i < 20; i++) out.push(await put(client, i));
          return out;
        }),
      );
      expect(statuses.flat().filter((s) => s !== 201)).toEqual([]);
      const tags = JSON.parse((await send(`${server.url}/v2/cluster/tags/tags/list`, 'GET')).body.toString()) as { tags: string[] };
      expect(tags.tags).toHaveLength(320);
      // Before writes took the lock at BEGIN, deferred transactions in two processes timed out here.
      expect(server.output()).not.toContain('database is locked');
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

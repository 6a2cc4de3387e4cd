// Blobs stream: pushing and pulling a 2 GiB blob keeps the server's resident memory
// under 150 MB. The blob is generated on the fly, so the test holds no copy either.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnWharf } from '../helpers/process.js';

const SIZE = 2 * 1024 ** 3;
const BLOCK = 4 * 1024 * 1024;

/** Deterministic pseudo-random 2 GiB: one random-looking block, varied per position. */
function* blocks(): Generator<Uint8Array> {
  const base = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i += 32) createHash('sha256').update(String(i)).digest().copy(base, i);
  for (let offset = 0; offset < SIZE; offset += BLOCK) {
    const block = Buffer.from(base);
    block.writeUInt32BE(offset / BLOCK, 0);
    yield block;
  }
}

function digestOfStream(): string {
  const hash = createHash('sha256');
  for (const b of blocks()) hash.update(b);
  return `sha256:${hash.digest('hex')}`;
}

function body(): ReadableStream<Uint8Array> {
  const it = blocks();
  return new ReadableStream({
    pull(controller) {
      const next = it.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
}

describe('memory stays flat with blob size', () => {
  it('pushes and pulls a 2 GiB blob with server RSS under 150 MB', { timeout: 240_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'wharf-mem-'));
    const server = await spawnWharf({ dataDir, env: { WHARF_LOG_LEVEL: 'warn' } });
    try {
      const digest = digestOfStream();
      const start = await fetch(`${server.url}/v2/big/blob/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, server.url);
      // Streamed PATCH without Content-Length, then PUT to finish.
      const patch = await fetch(location, { method: 'PATCH', body: body(), duplex: 'half' } as RequestInit);
      expect(patch.status).toBe(202);
      expect(patch.headers.get('range')).toBe(`0-${SIZE - 1}`);
      location.searchParams.set('digest', digest);
      expect((await fetch(location, { method: 'PUT' })).status).toBe(201);

      console.log(`peak RSS after push: ${((await server.peakRss()) / 1024 ** 2).toFixed(1)} MiB`);
      const pull = await fetch(`${server.url}/v2/big/blob/blobs/${digest}`);
      expect(pull.status).toBe(200);
      expect(pull.headers.get('content-length')).toBe(String(SIZE));
      const hash = createHash('sha256');
      for await (const chunk of pull.body!) hash.update(chunk);
      expect(`sha256:${hash.digest('hex')}`).toBe(digest);

      const peak = await server.peakRss();
      console.log(`peak server RSS for a 2 GiB push + pull: ${(peak / 1024 ** 2).toFixed(1)} MiB`);
      expect(peak).toBeLessThan(150 * 1024 ** 2);
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

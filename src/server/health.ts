import type { FastifyInstance } from 'fastify';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobStore } from '../storage/blob-store.js';

/** /healthz: the process answers. /readyz: it can reach its database and storage. */
export async function healthRoutes(app: FastifyInstance, opts: { metadata: MetadataStore; blobs: BlobStore }): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    for (const [name, probe] of [
      ['database', () => opts.metadata.ping()],
      ['storage', () => opts.blobs.check()],
    ] as const) {
      try {
        await probe();
        checks[name] = 'ok';
      } catch (err) {
        ready = false;
        checks[name] = (err as Error).message;
      }
    }
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });
}

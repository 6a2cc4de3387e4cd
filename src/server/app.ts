import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';
import { connect } from '../metadata/connect.js';
import { MetadataStore } from '../metadata/store.js';
import { Registry } from '../registry/registry.js';
import { openBlobStore } from '../storage/open.js';
import { distributionRoutes } from './distribution/routes.js';
import { healthRoutes } from './health.js';

export interface Wharf {
  app: FastifyInstance;
  registry: Registry;
  config: Config;
  log: Logger;
  /** Starts listening; resolves to the bound address (useful with port 0). */
  listen(): Promise<{ host: string; port: number }>;
  /** Stops accepting, waits for in-flight requests (up to shutdownTimeout), closes the database. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'wharf' },
    // Belt and braces: nothing logs these today, and nothing ever should.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.password', '*.secretAccessKey', '*.token'], censor: '[redacted]' },
  });
}

export async function createWharf(config: Config, log: Logger = createLogger(config)): Promise<Wharf> {
  const connection = await connect(config.databaseUrl);
  const metadata = new MetadataStore(connection);
  await metadata.migrate();
  const blobs = await openBlobStore(config.storageUrl);
  const registry = new Registry(metadata, blobs, { autoCreateRepositories: config.autoCreateRepositories, uploadTtlMs: config.uploadTtlMs }, log);

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // Repository names plus digests make long paths; the router's default cap is 100.
    routerOptions: { maxParamLength: 4096 },
    // Blob bodies are streamed by the handlers; nothing is buffered by Fastify.
    bodyLimit: 1024 * 1024,
    // Idle keep-alive sockets are closed at shutdown so close() does not wait on them.
    forceCloseConnections: 'idle',
    exposeHeadRoutes: false,
    return503OnClosing: true,
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });

  await app.register(healthRoutes, { metadata, blobs });
  await app.register(distributionRoutes, { registry, publicUrl: config.publicUrl });

  const expiry = setInterval(
    () => {
      registry.expireUploads().then(
        (n) => n > 0 && log.info({ expired: n }, 'expired abandoned uploads'),
        (err: unknown) => log.error({ err }, 'upload expiry failed'),
      );
    },
    Math.max(1000, Math.min(config.uploadTtlMs / 4, 10 * 60_000)),
  );
  expiry.unref();

  let closing: Promise<void> | undefined;
  return {
    app,
    registry,
    config,
    log,
    async listen() {
      await app.listen({ host: config.listen.host, port: config.listen.port });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') throw new Error('server has no TCP address');
      return { host: addr.address, port: addr.port };
    },
    close() {
      closing ??= (async () => {
        clearInterval(expiry);
        const timer = setTimeout(() => {
          log.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight requests did not finish in time; closing their connections');
          app.server.closeAllConnections();
        }, config.shutdownTimeoutMs);
        timer.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          await registry.close();
          await metadata.close();
        }
      })();
      return closing;
    },
  };
}

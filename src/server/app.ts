import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';
import { connect } from '../metadata/connect.js';
import { MetadataStore } from '../metadata/store.js';
import { GarbageCollector } from '../gc/collector.js';
import { JobQueue } from '../jobs/queue.js';
import { scheduleLifecycle } from '../lifecycle/schedule.js';
import { LifecycleRunner } from '../lifecycle/run.js';
import { Registry } from '../registry/registry.js';
import { startHeapGovernor } from '../registry/body-memory.js';
import { openBlobStore } from '../storage/open.js';
import { AccessControl } from '../auth/access-control.js';
import { bootstrapAdmin, loadAccount } from '../auth/bootstrap.js';
import { MasterKey } from '../auth/secrets.js';
import { TokenService } from '../auth/tokens.js';
import { IdentityStore } from '../metadata/identity-store.js';
import { V2Gate } from './distribution/gate.js';
import { distributionRoutes } from './distribution/routes.js';
import { ecrApiRoutes } from './ecr-api/routes.js';
import { tokenRoutes } from './token/routes.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { insecureCredentialsGuard, prepareTransport } from './tls.js';

export interface Wharf {
  app: FastifyInstance;
  registry: Registry;
  /** Authentication and authorization; absent with `auth: none`. */
  access: AccessControl | undefined;
  jobs: JobQueue;
  /** Runs lifecycle policies (the scheduled job, previews and tests use it). */
  lifecycle: LifecycleRunner;
  /** Online garbage collection (the scheduled job and tests use it). */
  gc: GarbageCollector;
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

/**
 * One-time start-up work, done once per machine before serving (by the cluster primary
 * when there are workers): schema migrations, and on SQLite, where every writer lives
 * on this machine, dropping upload leases left by a process that crashed.
 */
export async function prepareDatabase(config: Config, log: Logger): Promise<void> {
  const metadata = new MetadataStore(await connect(config.databaseUrl));
  try {
    await metadata.migrate();
    if (metadata.dialect === 'sqlite') {
      const cleared = await metadata.clearUploadLeases();
      if (cleared > 0) log.info({ cleared }, 'released upload leases left by a previous run');
    }
    const identity = new IdentityStore(metadata.connection);
    const master = await MasterKey.load(config.masterKeyFile);
    await loadAccount(metadata, config, log);
    // Printed, not logged: the one place a generated secret is ever shown.
    await bootstrapAdmin(metadata, identity, master, config, (text) => process.stderr.write(text));
  } finally {
    await metadata.close();
  }
}

async function createAccessControl(config: Config, metadata: MetadataStore, log: Logger): Promise<AccessControl> {
  const master = await MasterKey.load(config.masterKeyFile);
  const account = await loadAccount(metadata, config, log);
  const tokens = await TokenService.load(metadata, master, TOKEN_SERVICE);
  return new AccessControl(new IdentityStore(metadata.connection), tokens, master, account, log);
}

/** The `service` of Docker token auth: clients echo it back to /v2/token. */
const TOKEN_SERVICE = 'wharf';

export interface CreateOptions {
  /** Skip prepareDatabase (a cluster worker: the primary did it). */
  prepared?: boolean;
}

export async function createWharf(config: Config, log: Logger = createLogger(config), opts: CreateOptions = {}): Promise<Wharf> {
  if (!opts.prepared) await prepareDatabase(config, log);
  const transport = await prepareTransport(config, log, { prepare: !opts.prepared });
  const connection = await connect(config.databaseUrl);
  const metadata = new MetadataStore(connection);
  const blobs = await openBlobStore(config.storageUrl);
  const registry = new Registry(
    metadata,
    blobs,
    {
      autoCreateRepositories: config.autoCreateRepositories,
      uploadTtlMs: config.uploadTtlMs,
      uploadLeaseMs: config.uploadLeaseMs,
      redirectPulls: config.storageRedirect,
      gcGraceMs: config.gcGracePeriodMs,
    },
    log,
  );
  const access = config.auth === 'iam' ? await createAccessControl(config, metadata, log) : undefined;
  if (!access) log.warn('auth is "none": anyone who can reach this registry may push, pull and delete');
  const jobs = new JobQueue(connection, log);
  const stopHeapGovernor = startHeapGovernor();
  jobs.every('uploads.expire', Math.max(1000, Math.min(config.uploadTtlMs / 4, 10 * 60_000)), async () => {
    const expired = await registry.expireUploads();
    if (expired > 0) log.info({ expired }, 'expired abandoned uploads');
  });
  // Pull times are batched in memory: flushed first, so sinceImagePulled rules see recent pulls.
  const lifecycle = new LifecycleRunner(connection, () => registry.pulls.flush());
  scheduleLifecycle(jobs, lifecycle, config.lifecycleIntervalMs, log);
  const collector = new GarbageCollector(connection, blobs, { graceMs: config.gcGracePeriodMs }, log);
  if (config.gcIntervalMs > 0) {
    jobs.every('gc.run', config.gcIntervalMs, async () => {
      await collector.run();
    });
  }

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
    // One log line per request (the onResponse hook below), not Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // HTTPS with HTTP/2 and HTTP/1.1 when TLS is configured (src/server/tls.ts); trustProxy when set.
    ...transport.fastifyOptions,
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode === 200 && (req.url === '/healthz' || req.url === '/readyz')) return;
    req.log.info(
      // GetDownloadUrlForLayer URLs carry a registry token in `token=`: never logged.
      {
        method: req.method,
        url: req.url.replace(/([?&]token=)[^&]*/, '$1[redacted]'),
        // ECR API calls all go to POST /: the operation is what tells them apart.
        ...(typeof req.headers['x-amz-target'] === 'string' ? { target: req.headers['x-amz-target'].split('.').pop() } : {}),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        remote: req.ip,
      },
      'request',
    );
  });

  await app.register(insecureCredentialsGuard, { allowInsecureCredentials: config.allowInsecureCredentials });
  await app.register(healthRoutes, { metadata, blobs });
  await app.register(metricsRoutes, { collector, jobs, ...(access ? { access } : {}) });
  if (access) await app.register(tokenRoutes, { access });
  await app.register(distributionRoutes, {
    registry,
    publicUrl: config.publicUrl,
    ...(access ? { gate: new V2Gate(access, config.publicUrl) } : {}),
  });
  // The ECR API on POST /; with auth: none it answers every call with an explanation.
  await app.register(ecrApiRoutes, { registry, publicUrl: config.publicUrl, ...(access ? { access } : {}) });

  await jobs.start();

  let closing: Promise<void> | undefined;
  return {
    app,
    registry,
    access,
    jobs,
    lifecycle,
    gc: collector,
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
        stopHeapGovernor();
        await jobs.stop();
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

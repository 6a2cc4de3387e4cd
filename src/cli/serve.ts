import cluster from 'node:cluster';
import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, SETTINGS, type Config, type RawSettings } from '../config/config.js';
import { redact } from '../metadata/connect.js';
import { redactStorageUrl } from '../storage/s3-url.js';
import { createLogger, createWharf, prepareDatabase, type Wharf } from '../server/app.js';
import { prepareTls } from '../server/tls.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the registry (defaults: SQLite + filesystem under ./wharf-data, port 5000)')
    .option('--config <file>', 'configuration file (default ./wharf.yaml if present) [env WHARF_CONFIG]')
    .option(`${SETTINGS.listen.flag} <host:port>`, 'address to listen on (default 0.0.0.0:5000) [env WHARF_LISTEN]')
    .option(`${SETTINGS.dataDir.flag} <dir>`, 'data directory (default ./wharf-data) [env WHARF_DATA_DIR]')
    .option(`${SETTINGS.databaseUrl.flag} <url>`, 'metadata database: sqlite:<path> or postgres://user@host:5432/db [env WHARF_DATABASE_URL]')
    .option(`${SETTINGS.storageUrl.flag} <url>`, 'blob storage: file:<dir> (default <data dir>/blobs) or s3://bucket/prefix?region=... [env WHARF_STORAGE_URL]')
    .option(`${SETTINGS.publicUrl.flag} <url>`, 'external base URL for Location headers (default: relative) [env WHARF_PUBLIC_URL]')
    .addOption(
      new Option(`${SETTINGS.logLevel.flag} <level>`, 'log level (default info) [env WHARF_LOG_LEVEL]').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .option(`${SETTINGS.uploadTtl.flag} <duration>`, 'abandoned uploads expire after this idle time (default 24h) [env WHARF_UPLOAD_TTL]')
    .option(`${SETTINGS.autoCreateRepositories.flag} <bool>`, 'create repositories on first push (default true) [env WHARF_AUTO_CREATE_REPOSITORIES]')
    .option(`${SETTINGS.shutdownTimeout.flag} <duration>`, 'how long SIGTERM waits for in-flight requests (default 30s) [env WHARF_SHUTDOWN_TIMEOUT]')
    .option(`${SETTINGS.storageRedirect.flag} <bool>`, 'answer blob GETs with 307 to a short-lived presigned storage URL, where the storage offers one (S3) (default false) [env WHARF_STORAGE_REDIRECT]')
    .addOption(new Option(`${SETTINGS.auth.flag} <mode>`, 'access control: iam (users, keys, policies) or none (trials only) (default iam) [env WHARF_AUTH]').choices(['iam', 'none']))
    .option(`${SETTINGS.uploadLease.flag} <duration>`, 'how long a crashed writer keeps its claim on an upload (default 20s) [env WHARF_UPLOAD_LEASE]')
    .option(`${SETTINGS.lifecycleInterval.flag} <duration>`, 'run repositories\' lifecycle policies this often, or off (default 1h) [env WHARF_LIFECYCLE_INTERVAL]')
    .option(`${SETTINGS.workers.flag} <n>`, 'processes to run on this machine, sharing the port (default 1) [env WHARF_WORKERS]')
    .option(`${SETTINGS.tlsCert.flag} <file>`, 'serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate (chain); reloaded when it changes [env WHARF_TLS_CERT]')
    .option(`${SETTINGS.tlsKey.flag} <file>`, 'the PEM private key of --tls-cert [env WHARF_TLS_KEY]')
    .option(`${SETTINGS.tlsSelfSigned.flag} <host>`, 'serve HTTPS with a trial CA and certificate for HOST made under <data dir>/tls [env WHARF_TLS_SELF_SIGNED]')
    .option(`${SETTINGS.allowInsecureCredentials.flag} <bool>`, 'accept credentials over plain HTTP from other machines (default false) [env WHARF_ALLOW_INSECURE_CREDENTIALS]')
    .option(`${SETTINGS.trustProxy.flag} <proxies>`, 'believe X-Forwarded-* from these proxies: true, or addresses/CIDRs, comma-separated (default false) [env WHARF_TRUST_PROXY]')
    .option(`${SETTINGS.gcGracePeriod.flag} <duration>`, 'garbage collection spares blobs touched this recently (default 24h) [env WHARF_GC_GRACE_PERIOD]')
    .option(`${SETTINGS.gcInterval.flag} <duration>`, 'run garbage collection this often, cluster-wide, or off (default 1h) [env WHARF_GC_INTERVAL]')
    .action(async (flags: RawSettings & { config?: string }) => {
      let config: Config;
      try {
        config = loadConfig({ flags });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`wharf: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      const log = createLogger(config);
      if (config.workers > 1 && cluster.isPrimary) await runPrimary(config, log);
      else await runServer(config, log, cluster.isWorker);
    });
}

/** Serves in this process until SIGTERM/SIGINT. */
async function runServer(config: Config, log: Logger, isWorker: boolean): Promise<void> {
  let wharf: Wharf;
  try {
    wharf = await createWharf(config, log, { prepared: isWorker });
  } catch (err) {
    log.fatal({ err }, 'could not start');
    process.exit(1);
  }
  const address = await wharf.listen();
  if (!isWorker) {
    log.info(
      { address: `${address.host}:${address.port}`, database: redact(config.databaseUrl), storage: redactStorageUrl(config.storageUrl), configFile: config.configFile },
      'wharf is ready',
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    // A repeated signal must not kill the process mid-drain; the shutdown timeout bounds the wait.
    if (stopping) return log.info({ signal }, 'already shutting down');
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, waiting for in-flight requests');
    wharf.close().then(
      () => {
        log.info('stopped cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * The cluster primary: prepares the database once, forks the workers (which share the
 * listening socket), replaces a worker that dies, and on SIGTERM drains them all.
 */
async function runPrimary(config: Config, log: Logger): Promise<void> {
  try {
    await prepareDatabase(config, log);
    await prepareTls(config);
  } catch (err) {
    log.fatal({ err }, 'could not start');
    process.exit(1);
  }
  let stopping = false;
  let listening = 0;
  const deaths: number[] = [];
  const fork = () => cluster.fork();
  cluster.on('listening', (_worker, address) => {
    if (++listening === config.workers) {
      log.info(
        { address: `${address.address}:${address.port}`, workers: config.workers, database: redact(config.databaseUrl), storage: redactStorageUrl(config.storageUrl) },
        'wharf is ready',
      );
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('stopped cleanly');
        process.exit(0);
      }
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths.length > 0 && deaths[0]! < now - 60_000) deaths.shift();
    if (deaths.length > 5) {
      log.fatal({ pid: worker.process.pid, code, signal }, 'workers keep dying (more than 5 in a minute); giving up');
      process.exit(1);
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    setTimeout(fork, 1000).unref();
  });
  for (let i = 0; i < config.workers; i++) fork();
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: config.workers }, 'shutting down workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      log.warn('workers did not stop in time');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

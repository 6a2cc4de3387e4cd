import { Command, Option } from 'commander';
import { ConfigError, loadConfig, SETTINGS, type RawSettings } from '../config/config.js';
import { redact } from '../metadata/connect.js';
import { createLogger, createWharf } from '../server/app.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the registry (defaults: SQLite + filesystem under ./wharf-data, port 5000)')
    .option('--config <file>', 'configuration file (default ./wharf.yaml if present) [env WHARF_CONFIG]')
    .option(`${SETTINGS.listen.flag} <host:port>`, 'address to listen on (default 0.0.0.0:5000) [env WHARF_LISTEN]')
    .option(`${SETTINGS.dataDir.flag} <dir>`, 'data directory (default ./wharf-data) [env WHARF_DATA_DIR]')
    .option(`${SETTINGS.databaseUrl.flag} <url>`, 'metadata database: sqlite:<path> or postgres://user@host:5432/db [env WHARF_DATABASE_URL]')
    .option(`${SETTINGS.storageUrl.flag} <url>`, 'blob storage: file:<dir> (default <data dir>/blobs) [env WHARF_STORAGE_URL]')
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
    .action(async (flags: RawSettings & { config?: string }) => {
      let config;
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
      let wharf;
      try {
        wharf = await createWharf(config, log);
      } catch (err) {
        log.fatal({ err }, 'could not start');
        process.exit(1);
      }
      const address = await wharf.listen();
      log.info(
        { address: `${address.host}:${address.port}`, database: redact(config.databaseUrl), storage: config.storageUrl, configFile: config.configFile },
        'wharf is ready',
      );
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
    });
}

// Opening the configured database for an admin command: the same configuration as `serve`
// (--config, --data-dir, --database-url, WHARF_*, wharf.yaml), the same start-up preparation
// minus what belongs to a running server, and the audit trail every change goes through.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import type { Account } from '../auth/access-control.js';
import { bootstrapAdmin, loadAccount } from '../auth/bootstrap.js';
import { MasterKey } from '../auth/secrets.js';
import { loadConfig, SETTINGS, type Config, type RawSettings } from '../config/config.js';
import { connect, redact } from '../metadata/connect.js';
import { IdentityStore } from '../metadata/identity-store.js';
import { MetadataStore } from '../metadata/store.js';
import { cliActor, oneLine, OperationError, outputOption, UsageError, type OutputFormat } from './cli-util.js';

export interface ConfigFlags {
  config?: string;
  dataDir?: string;
  databaseUrl?: string;
}

export interface AdminFlags extends ConfigFlags {
  output: OutputFormat;
}

/** The options that locate the registry's data, as `serve` spells them. */
export function addConfigOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration file (default ./wharf.yaml if present) [env WHARF_CONFIG]')
    .option(`${SETTINGS.dataDir.flag} <dir>`, 'data directory (default ./wharf-data) [env WHARF_DATA_DIR]')
    .option(`${SETTINGS.databaseUrl.flag} <url>`, 'metadata database: sqlite:<path> or postgres://user@host:5432/db [env WHARF_DATABASE_URL]');
}

/** An admin command: the options that locate the registry's data, and --output. */
export function adminCommand(name: string, description: string): Command {
  return addConfigOptions(new Command(name).description(description)).addOption(outputOption());
}

export interface AdminContext {
  config: Config;
  metadata: MetadataStore;
  identity: IdentityStore;
  master: MasterKey;
  account: Account;
  /** `cli:<os user>` */
  actor: string;
  userArn(name: string): string;
  groupArn(name: string): string;
  policyArn(name: string): string;
  repositoryArn(name: string): string;
  /**
   * Runs a change and records it in the audit trail: `success` after it, or `failure` with
   * the reason (then rethrows). Nothing secret goes into `detail`.
   */
  change<T>(action: string, resource: string, detail: unknown, fn: () => Promise<T>): Promise<T>;
}

/**
 * Loads configuration, opens MetadataStore + IdentityStore + MasterKey, and closes them after
 * `fn`. Like the server's start-up it applies migrations and, on a database nobody has used
 * yet, creates the first administrator (printing its generated secrets once on stderr), so the
 * CLI may be used before the first `wharf serve`. Unlike it, it leaves upload leases alone: a
 * server may be running.
 */
export async function withAdmin<T>(flags: ConfigFlags, fn: (ctx: AdminContext) => Promise<T>): Promise<T> {
  const raw: RawSettings & { config?: string } = {};
  if (flags.config !== undefined) raw.config = flags.config;
  if (flags.dataDir !== undefined) raw.dataDir = flags.dataDir;
  if (flags.databaseUrl !== undefined) raw.databaseUrl = flags.databaseUrl;
  const config = loadConfig({ flags: raw });

  const sqliteFile = config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl.slice('sqlite:'.length) : undefined;
  const isNew = sqliteFile !== undefined && sqliteFile !== ':memory:' && !existsSync(resolve(sqliteFile));
  let metadata: MetadataStore;
  try {
    metadata = new MetadataStore(await connect(config.databaseUrl));
  } catch (err) {
    throw new OperationError(`cannot open the database ${redact(config.databaseUrl)}: ${oneLine((err as Error).message)}`);
  }
  try {
    if (isNew) process.stderr.write(`wharf: no database at ${resolve(sqliteFile!)} yet: creating a new one (check --data-dir if you expected an existing registry)\n`);
    await metadata.migrate();
    const master = await MasterKey.load(config.masterKeyFile);
    // Warnings only, and on stderr: stdout carries the command's output.
    const log = pino({ level: 'warn', base: { service: 'wharf' } }, pino.destination({ dest: 2, sync: true }));
    const account = await loadAccount(metadata, config, log);
    const identity = new IdentityStore(metadata.connection);
    await bootstrapAdmin(metadata, identity, master, config, (text) => process.stderr.write(text));
    const actor = cliActor();
    const ctx: AdminContext = {
      config,
      metadata,
      identity,
      master,
      account,
      actor,
      userArn: (name) => `arn:aws:iam::${account.accountId}:user/${name}`,
      groupArn: (name) => `arn:aws:iam::${account.accountId}:group/${name}`,
      policyArn: (name) => `arn:aws:iam::${account.accountId}:policy/${name}`,
      repositoryArn: (name) => `arn:aws:ecr:${account.region}:${account.accountId}:repository/${name}`,
      async change(action, resource, detail, run) {
        let result: Awaited<ReturnType<typeof run>>;
        try {
          result = await run();
        } catch (err) {
          // Usage errors are caught before anything is attempted; the rest are failed changes.
          if (!(err instanceof UsageError)) {
            await identity.recordAudit({
              actor,
              action,
              resource,
              outcome: 'failure',
              detail: { ...(isRecord(detail) ? detail : detail === undefined ? {} : { detail }), error: oneLine((err as Error).message) },
            });
          }
          throw err;
        }
        await identity.recordAudit({ actor, action, resource, outcome: 'success', ...(detail === undefined ? {} : { detail }) });
        return result;
      },
    };
    return await fn(ctx);
  } finally {
    await metadata.close();
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

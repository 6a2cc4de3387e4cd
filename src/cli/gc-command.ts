// `wharf gc`: one garbage collection now, against the configured database and storage, while
// servers keep running (the same online collector the scheduled job runs).
import type { Command } from 'commander';
import pino from 'pino';
import { parseDuration, SETTINGS } from '../config/config.js';
import { GarbageCollector } from '../gc/collector.js';
import { openBlobStore } from '../storage/open.js';
import { adminCommand, withAdmin, type AdminFlags } from './admin-context.js';
import { emit, fields, runAction, UsageError } from './cli-util.js';

function parseGrace(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--grace-period "${text}" is not a duration: use e.g. 0s, 30m or 24h`);
  return ms;
}

export function gcCommand(): Command {
  return adminCommand('gc', 'Reclaim storage of blobs nothing references, online (servers keep serving)')
    .option('--dry-run', 'report what would be reclaimed, change nothing')
    .option('--grace-period <duration>', 'spare blobs touched this recently (default: the gcGracePeriod setting, 24h)')
    .option(`${SETTINGS.storageUrl.flag} <url>`, 'blob storage, as for serve [env WHARF_STORAGE_URL]')
    .action((opts: AdminFlags & { dryRun?: boolean; gracePeriod?: string; storageUrl?: string }) =>
      runAction(() =>
        withAdmin(opts, async (ctx) => {
          const graceMs = opts.gracePeriod === undefined ? ctx.config.gcGracePeriodMs : parseGrace(opts.gracePeriod);
          const blobs = await openBlobStore(opts.storageUrl ?? ctx.config.storageUrl);
          const log = pino({ level: 'warn', base: { service: 'wharf' } }, pino.destination({ dest: 2, sync: true }));
          const collector = new GarbageCollector(ctx.metadata.connection, blobs, { graceMs }, log);
          const run = () => collector.run({ dryRun: opts.dryRun === true });
          const report = opts.dryRun ? await run() : await ctx.change('GarbageCollect', '*', { graceMs }, run);
          emit(opts.output, report, () =>
            fields([
              ['mode', report.dryRun ? 'dry run (nothing changed)' : 'collected'],
              ['links removed', report.unlinked],
              ['blobs removed', report.blobsDeleted],
              ['bytes reclaimed', report.bytesReclaimed],
              ['took', `${report.durationMs} ms`],
            ]),
          );
        }),
      ),
    );
}

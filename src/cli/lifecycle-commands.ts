// `wharf lifecycle run`: runs lifecycle policies now, against the registry's database (as the
// other admin commands open it), with the same runner as the server's schedule and previews.
// Deleting images touches only the database; blob bytes are garbage collection's.
import { Command } from 'commander';
import { LifecyclePolicyError } from '../lifecycle/policy.js';
import { LifecycleRunner, type LifecycleReport, type RunAllResult } from '../lifecycle/run.js';
import { RegistryError } from '../registry/errors.js';
import { validateRepositoryName } from '../registry/names.js';
import { addConfigOptions, withAdmin, type AdminFlags } from './admin-context.js';
import { emit, OperationError, outputOption, runAction, table, UsageError } from './cli-util.js';
import { shortDigest, size } from './ecr-commands.js';

interface RunFlags extends AdminFlags {
  dryRun?: boolean;
  repository?: string;
  json?: boolean;
}

function render(result: RunAllResult, dryRun: boolean): string {
  if (result.reports.length === 0 && result.failures.length === 0) return 'no repository has a lifecycle policy';
  const verb = dryRun ? 'would expire' : 'expired';
  const blocks = result.reports.map((r) => renderReport(r, verb));
  for (const f of result.failures) blocks.push(`${f.repository}: failed: ${f.error}`);
  return blocks.join('\n\n');
}

function renderReport(r: LifecycleReport, verb: string): string {
  const count = (n: number) => `${n} image${n === 1 ? '' : 's'}`;
  const head = `${r.repository}: ${verb} ${count(r.expired.length)}${r.expired.length > 0 ? ` (${size(r.bytes)})` : ''}${r.skipped.length > 0 ? `, skipped ${count(r.skipped.length)}` : ''}`;
  const rows = [
    ...r.expired.map((e) => [shortDigest(e.digest), e.tags.join(','), e.pushedAt.replace(/\.\d{3}Z$/, 'Z'), e.rulePriority, size(e.size), e.withDigest ? `with ${shortDigest(e.withDigest)}` : '']),
    ...r.skipped.map((e) => [shortDigest(e.digest), e.tags.join(','), e.pushedAt.replace(/\.\d{3}Z$/, 'Z'), e.rulePriority, size(e.size), `skipped: ${e.reason}`]),
  ];
  if (rows.length === 0) return head;
  const lines = table(['DIGEST', 'TAGS', 'PUSHED', 'RULE', 'SIZE', 'NOTE'], rows).split('\n');
  return [head, ...lines.map((l) => `  ${l}`)].join('\n');
}

/** One repository's run, with its domain errors as one-line failures. */
async function runOne(runner: LifecycleRunner, name: string, dryRun: boolean): Promise<LifecycleReport> {
  try {
    return await runner.run(name, { dryRun });
  } catch (err) {
    if (err instanceof RegistryError && (err.code === 'NAME_UNKNOWN' || err.code === 'LIFECYCLE_POLICY_NOT_FOUND')) throw new OperationError(err.message);
    if (err instanceof LifecyclePolicyError) throw new OperationError(`the lifecycle policy of ${name} is not valid: ${err.message}`);
    throw err;
  }
}

export function lifecycleCommand(): Command {
  const lifecycle = new Command('lifecycle').description("Repositories' lifecycle policies (put them with the ECR API: aws ecr put-lifecycle-policy)");
  lifecycle.addCommand(
    addConfigOptions(
      new Command('run').description(
        'Run lifecycle policies now: every repository that has one, or --repository; prints what expired (the server also runs them every lifecycleInterval)',
      ),
    )
      .option('--dry-run', 'only show what would expire')
      .option('--repository <name>', 'only this repository (it must have a policy)')
      .option('--json', 'JSON output (the same as --output json)')
      .addOption(outputOption())
      .action((opts: RunFlags) =>
        runAction(async () => {
          if (opts.repository !== undefined) {
            try {
              validateRepositoryName(opts.repository);
            } catch {
              throw new UsageError(`invalid repository name "${opts.repository.slice(0, 100)}"`);
            }
          }
          const dryRun = opts.dryRun === true;
          const format = opts.json ? 'json' : opts.output;
          await withAdmin(opts, async (ctx) => {
            const runner = new LifecycleRunner(ctx.metadata.connection);
            const result: RunAllResult =
              opts.repository !== undefined ? { reports: [await runOne(runner, opts.repository, dryRun)], failures: [] } : await runner.runAll({ dryRun });
            emit(format, { dryRun, repositories: result.reports, failures: result.failures }, () => render(result, dryRun));
            if (result.failures.length > 0) {
              throw new OperationError(`lifecycle policy failed for ${result.failures.map((f) => f.repository).join(', ')}`);
            }
          });
        }),
      ),
  );
  return lifecycle;
}

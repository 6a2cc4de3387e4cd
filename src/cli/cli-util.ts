// What every `wharf` admin command shares: exit codes (0 ok, 1 failed operation, 2 usage),
// one-line error messages, --output json|table, stdin and document reading, name checks.
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/config.js';

/** Bad arguments or flags: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A well-formed request that could not be carried out (missing entity, limit, invalid policy): exit code 1. */
export class OperationError extends Error {
  override name = 'OperationError';
}

export type OutputFormat = 'json' | 'table';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** --output json|table (default table). */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default('table');
}

/**
 * Commander exits 1 on every parse error; ours are usage errors (2). `addCommand` does not copy
 * settings into a subtree, so each tree we build is configured here, node by node.
 */
export function configureTree(cmd: Command): Command {
  cmd.exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
  });
  cmd.showHelpAfterError('(add --help for usage)');
  for (const sub of cmd.commands) configureTree(sub);
  return cmd;
}

/** Runs an action, turning errors into a one-line message on stderr and the right exit code. */
export async function runAction(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const usage = err instanceof UsageError || err instanceof ConfigError;
    const message = err instanceof Error ? err.message : String(err);
    // Configuration problems list one setting per line; everything else fits on one.
    const text = err instanceof ConfigError ? message : oneLine(message);
    process.stderr.write(`wharf: ${text}\n`);
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILED;
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Writes the result: pretty JSON, or the table/text rendering. */
export function emit(format: OutputFormat, value: unknown, render: () => string): void {
  const text = format === 'json' ? JSON.stringify(value, null, 2) : render();
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Aligned columns with a header row; `-` for empty cells. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => headers.map((_, i) => (r[i] === null || r[i] === undefined || r[i] === '' ? '-' : String(r[i]))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** `label: value` lines, labels aligned. */
export function fields(pairs: [string, string | number | null | undefined][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v === null || v === undefined || v === '' ? '-' : String(v)}`).join('\n');
}

/** Everything on stdin, as text. */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('expected input on stdin, but stdin is a terminal: pipe it in');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A secret on stdin, as `docker login --password-stdin` reads it: one trailing newline dropped. */
export async function readSecretFromStdin(what: string): Promise<string> {
  const text = (await readStdin()).replace(/\r?\n$/, '');
  if (text.length === 0) throw new UsageError(`no ${what} on stdin`);
  if (/[\r\n]/.test(text)) throw new UsageError(`the ${what} on stdin must be one line`);
  return text;
}

/** A policy document from a file, or stdin for `-`. */
export async function readDocument(source: string | undefined): Promise<string> {
  if (source === undefined) throw new UsageError('--document FILE (or - for stdin) is required');
  let text: string;
  if (source === '-') {
    text = await readStdin();
  } else {
    try {
      text = await readFile(source, 'utf8');
    } catch (err) {
      throw new OperationError(`cannot read policy document ${source}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (text.trim() === '') throw new OperationError(`policy document ${source === '-' ? 'on stdin' : source} is empty`);
  return text.trim();
}

const IAM_NAME = /^[\w+=,.@-]{1,64}$/;

/** IAM user, group and policy names: 1-64 of letters, digits and + = , . @ _ - */
export function validateIamName(kind: string, name: string): string {
  if (!IAM_NAME.test(name)) {
    throw new UsageError(`invalid ${kind} name "${name.slice(0, 80)}": use 1 to 64 letters, digits and + = , . @ _ -`);
  }
  return name;
}

export const ACCESS_KEY_ID = /^AKIA[A-Z2-7]{16}$/;

export function validateAccessKeyId(id: string): string {
  if (!ACCESS_KEY_ID.test(id)) throw new UsageError(`"${id.slice(0, 40)}" is not an access key id (AKIA followed by 16 of A-Z, 2-7)`);
  return id;
}

/** `--tag k=v`, repeatable: collects into a record (commander's argParser; its errors are usage errors). */
export function collectTag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  const val = eq < 0 ? '' : value.slice(eq + 1);
  if (eq < 0 || !/^[\p{L}\p{Z}\p{N}_.:/=+@-]{1,128}$/u.test(key) || val.length > 256) {
    throw new InvalidArgumentError('use KEY=VALUE (key: 1-128 of letters, digits, spaces and _ . : / = + - @; value: up to 256 characters)');
  }
  if (Object.keys(previous).length >= 50 && !(key in previous)) throw new InvalidArgumentError('a user can have at most 50 tags');
  return { ...previous, [key]: val };
}

/** Who made a change from the command line, for the audit trail. */
export function cliActor(): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? process.env.LOGNAME;
  }
  return `cli:${name || `uid-${process.getuid?.() ?? 'unknown'}`}`;
}

/** `--user U | --group G`: exactly one. */
export function principalFlag(opts: { user?: string; group?: string }): { kind: 'user' | 'group'; name: string } {
  if ((opts.user === undefined) === (opts.group === undefined)) throw new UsageError('give exactly one of --user USER or --group GROUP');
  return opts.user !== undefined ? { kind: 'user', name: validateIamName('user', opts.user) } : { kind: 'group', name: validateIamName('group', opts.group!) };
}

// Runs the built CLIs (dist/, made by `npm run build`): `wharf` and `docker-credential-wharf`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const WHARF = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
export const CREDENTIAL_HELPER = fileURLToPath(new URL('../../dist/cli/credential-helper.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without any WHARF_* setting of the caller's (tests set their own). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WHARF_') || k.startsWith('WHARF_TEST_')) env[k] = v;
  return { ...env, ...extra };
}

export function runNode(script: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: opts.env ?? cleanEnv(), cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** A CLI bound to one data directory and environment. */
export function wharfCli(opts: { dataDir: string; env?: Record<string, string>; cwd: string }) {
  const env = cleanEnv(opts.env);
  const cli = (args: string[], input?: string) => runNode(WHARF, [...args, '--data-dir', opts.dataDir], { env, cwd: opts.cwd, ...(input === undefined ? {} : { input }) });
  /** Expects exit 0 and returns the parsed `--output json`. */
  cli.json = async <T = unknown>(args: string[], input?: string): Promise<T> => {
    const res = await cli([...args, '--output', 'json'], input);
    if (res.code !== 0) throw new Error(`wharf ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
    return JSON.parse(res.stdout) as T;
  };
  /** Expects exit 0 and returns stdout. */
  cli.ok = async (args: string[], input?: string): Promise<string> => {
    const res = await cli(args, input);
    if (res.code !== 0) throw new Error(`wharf ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
    return res.stdout;
  };
  return cli;
}

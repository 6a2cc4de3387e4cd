// `wharf login REGISTRY`: checks credentials against the registry, then writes them where
// docker and podman (and skopeo, buildah) look for them; or, with --helper and an access key,
// hands the key to docker-credential-wharf, which exchanges it for fresh tokens on each use.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { ACCESS_KEY_ID, emit, OperationError, outputOption, readSecretFromStdin, runAction, UsageError, type OutputFormat } from './cli-util.js';
import {
  credentialsFile,
  objectAt,
  parseServer,
  readJsonObject,
  RegistryAuthError,
  storeAccessKey,
  verifyCredentials,
  writePrivateJson,
  type ServerAddress,
} from './registry-auth.js';

interface LoginFlags {
  username?: string;
  passwordStdin?: boolean;
  accessKeyId?: string;
  secretAccessKeyStdin?: boolean;
  configDir?: string;
  helper?: boolean;
  output: OutputFormat;
}

/** The name docker looks up in credHelpers: `docker-credential-<name>`. */
export const HELPER_NAME = 'wharf';

/** docker's config.json: --config-dir, $DOCKER_CONFIG, or ~/.docker. */
export function dockerConfigFile(configDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir ?? env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/**
 * podman's (containers-auth.json) primary file: $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/<uid>/auth.json as containers/image does.
 */
export function podmanAuthFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  const uid = process.getuid?.();
  return uid === undefined ? undefined : `/run/containers/${uid}/auth.json`;
}

/** Sets `auths[key].auth` (or, with a helper, `credHelpers[key]`) in a docker-format file, keeping everything else. */
async function writeAuthFile(path: string, server: ServerAddress, entry: { auth: string } | { helper: string }): Promise<void> {
  const config = await readJsonObject(path);
  if ('auth' in entry) {
    objectAt(config, 'auths')[server.key] = { auth: entry.auth };
    // A helper configured for this registry would win over the entry just written.
    const helpers = config.credHelpers;
    if (typeof helpers === 'object' && helpers !== null) delete (helpers as Record<string, unknown>)[server.key];
  } else {
    objectAt(config, 'credHelpers')[server.key] = entry.helper;
    // No stale secret left behind for the registry the helper now serves.
    const auths = config.auths;
    if (typeof auths === 'object' && auths !== null) delete (auths as Record<string, unknown>)[server.key];
  }
  await writePrivateJson(path, config);
}

/** Reads a password from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError('no password: pass --password-stdin and pipe it in');
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            return resolve(value);
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            return reject(new UsageError('interrupted'));
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

export function loginCommand(): Command {
  return new Command('login')
    .description(
      'Sign in to a Wharf registry: check the credentials, then store them for docker and podman ' +
        '(or, with --helper and an access key, configure docker-credential-wharf, which trades the key for 12-hour tokens)',
    )
    .argument('<registry>', 'HOST[:PORT] or https://HOST[:PORT] (a bare loopback address means http; WHARF_INSECURE=1 forces http)')
    .option('-u, --username <user>', 'user name (or an access key id)')
    .option('--password-stdin', 'read the password (or secret) from stdin')
    .option('--access-key-id <id>', 'sign in with an access key (AKIA...)')
    .option('--secret-access-key-stdin', 'read the secret access key from stdin')
    .option('--config-dir <dir>', "docker's configuration directory (default $DOCKER_CONFIG or ~/.docker)")
    .option('--helper', 'with an access key: store it for docker-credential-wharf and set credHelpers instead of writing the secret')
    .addOption(outputOption())
    .action((registry: string, opts: LoginFlags) => runAction(() => login(registry, opts)));
}

async function login(registry: string, opts: LoginFlags): Promise<void> {
  let server: ServerAddress;
  try {
    server = parseServer(registry);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (opts.accessKeyId !== undefined && opts.username !== undefined) throw new UsageError('give either --username or --access-key-id, not both');
  if (opts.passwordStdin && opts.secretAccessKeyStdin) throw new UsageError('give either --password-stdin or --secret-access-key-stdin, not both');
  if (opts.accessKeyId !== undefined && !ACCESS_KEY_ID.test(opts.accessKeyId)) throw new UsageError(`"${opts.accessKeyId.slice(0, 40)}" is not an access key id (AKIA followed by 16 of A-Z, 2-7)`);
  if (opts.secretAccessKeyStdin && opts.accessKeyId === undefined) throw new UsageError('--secret-access-key-stdin goes with --access-key-id');

  const username = opts.accessKeyId ?? opts.username;
  if (username === undefined) throw new UsageError('give --username USER (with --password-stdin) or --access-key-id ID (with --secret-access-key-stdin)');
  const isKey = ACCESS_KEY_ID.test(username);
  if (opts.helper && !isKey) throw new UsageError('--helper needs an access key: --access-key-id AKIA... --secret-access-key-stdin');
  const password =
    opts.passwordStdin || opts.secretAccessKeyStdin
      ? await readSecretFromStdin(isKey ? 'secret access key' : 'password')
      : await promptHidden(isKey ? 'Secret access key: ' : 'Password: ');

  try {
    await verifyCredentials(server, username, password);
  } catch (err) {
    if (err instanceof RegistryAuthError) throw new OperationError(`login failed: ${err.message}`);
    throw err;
  }

  const docker = dockerConfigFile(opts.configDir);
  const podman = podmanAuthFile();
  const written: string[] = [];
  let helperStore: string | undefined;
  if (opts.helper) {
    helperStore = credentialsFile();
    await storeAccessKey(helperStore, registry, username, password);
    await writeAuthFile(docker, server, { helper: HELPER_NAME });
    written.push(docker);
    if (podman) {
      await writeAuthFile(podman, server, { helper: HELPER_NAME });
      written.push(podman);
    }
  } else {
    const auth = Buffer.from(`${username}:${password}`).toString('base64');
    await writeAuthFile(docker, server, { auth });
    written.push(docker);
    if (podman) {
      await writeAuthFile(podman, server, { auth });
      written.push(podman);
    }
  }

  const config = await readJsonObject(docker);
  const warnings: string[] = [];
  if (!opts.helper) warnings.push(`the ${isKey ? 'secret' : 'password'} is stored unencrypted (base64) in ${written.join(' and ')}; an access key with --helper keeps only short-lived tokens in docker's hands`);
  if (typeof config.credsStore === 'string' && !opts.helper) warnings.push(`docker's credsStore "${config.credsStore}" may take precedence over the entry written in ${docker}`);
  if (opts.helper) warnings.push(`docker runs docker-credential-${HELPER_NAME} from PATH for ${server.key}; install it with Wharf (npm's bin) or put it on PATH`);

  emit(opts.output, { registry: server.key, url: server.base, username, helper: opts.helper === true, files: written, ...(helperStore ? { credentialsFile: helperStore } : {}), warnings }, () =>
    [
      ...warnings.map((w) => `note: ${w}`),
      ...written.map((f) => `wrote ${opts.helper ? `credHelpers["${server.key}"] = "${HELPER_NAME}"` : `credentials for ${server.key}`} to ${f}`),
      ...(helperStore ? [`stored access key ${username} for ${server.key} in ${helperStore}`] : []),
      'Login Succeeded',
    ].join('\n'),
  );
}

#!/usr/bin/env node
// docker-credential-wharf: a docker credential helper (the docker-credential-helpers protocol:
// `store`, `get`, `erase`, `list`, `version`, the argument naming the action and stdin carrying
// its input). Like amazon-ecr-credential-helper it holds a long-lived access key and hands
// docker a fresh 12-hour authorization token (user `AWS`), cached until shortly before it expires.
//
//   docker config.json: { "credHelpers": { "registry.example.com": "wharf" } }
//   store: {"ServerURL","Username":<access key id>,"Secret":<secret access key>} on stdin
//   get:   server URL on stdin -> {"ServerURL","Username":"AWS","Secret":<token>}
//
// Errors go to stdout with exit code 1, as the protocol says; an unknown server gets exactly
// "credentials not found in native keychain", which docker treats as "no credentials".
import {
  credentialsFile,
  fetchAuthorizationToken,
  parseServer,
  readCredentialStore,
  RegistryAuthError,
  storeAccessKey,
  writeCredentialStore,
} from './registry-auth.js';

const NOT_FOUND = 'credentials not found in native keychain';
const VERSION = '0.1.0';
const ACCESS_KEY_ID = /^AKIA[A-Z2-7]{16}$/;
/** A cached token is replaced this long before it expires, so docker never gets one about to lapse. */
const REFRESH_MARGIN_MS = 15 * 60 * 1000;

class HelperError extends Error {}

const USAGE = `Usage: docker-credential-wharf <store|get|erase|list|version>

A docker credential helper for Wharf registries. Configure it per registry in docker's
config.json ("credHelpers": {"HOST:PORT": "wharf"}), or run \`wharf login --helper\`.
Access keys are kept in $WHARF_CREDENTIALS_FILE (default ~/.config/wharf/credentials.json).
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function serverFrom(text: string) {
  try {
    return parseServer(text);
  } catch (err) {
    throw new HelperError((err as Error).message);
  }
}

async function store(): Promise<void> {
  let input: { ServerURL?: unknown; Username?: unknown; Secret?: unknown };
  try {
    input = JSON.parse(await readStdin()) as typeof input;
  } catch {
    throw new HelperError('store expects a JSON object {"ServerURL","Username","Secret"} on stdin');
  }
  const { ServerURL: serverURL, Username: username, Secret: secret } = input ?? {};
  if (typeof serverURL !== 'string' || serverURL.trim() === '') throw new HelperError('store: ServerURL is missing');
  if (typeof username !== 'string' || !ACCESS_KEY_ID.test(username)) {
    throw new HelperError('docker-credential-wharf stores access keys only: Username must be an access key id (AKIA...) and Secret its secret access key');
  }
  if (typeof secret !== 'string' || secret === '') throw new HelperError('store: Secret (the secret access key) is missing');
  serverFrom(serverURL);
  await storeAccessKey(credentialsFile(), serverURL.trim(), username, secret);
}

async function get(): Promise<void> {
  const serverURL = (await readStdin()).trim();
  const server = serverFrom(serverURL);
  const path = credentialsFile();
  const creds = await readCredentialStore(path);
  const entry = creds.registries[server.key];
  if (!entry) throw new HelperError(NOT_FOUND);

  const now = Date.now();
  let token = entry.token;
  if (!token || !entry.tokenExpiresAt || Date.parse(entry.tokenExpiresAt) - REFRESH_MARGIN_MS <= now) {
    // The address as stored (its scheme, if one was given) says where to ask.
    const issued = await fetchAuthorizationToken(parseServer(entry.serverURL), entry.accessKeyId, entry.secretAccessKey).catch((err: unknown) => {
      if (err instanceof RegistryAuthError) throw new HelperError(`docker-credential-wharf: ${err.message}`);
      throw err;
    });
    token = issued.token;
    // Re-read before writing: another helper process may have changed other entries meanwhile.
    const latest = await readCredentialStore(path);
    const current = latest.registries[server.key];
    if (current && current.accessKeyId === entry.accessKeyId) {
      latest.registries[server.key] = { ...current, token, tokenExpiresAt: issued.expiresAt.toISOString() };
      await writeCredentialStore(path, latest);
    }
  }
  process.stdout.write(`${JSON.stringify({ ServerURL: serverURL, Username: 'AWS', Secret: token })}\n`);
}

async function erase(): Promise<void> {
  const server = serverFrom(await readStdin());
  const path = credentialsFile();
  const creds = await readCredentialStore(path);
  if (!creds.registries[server.key]) throw new HelperError(NOT_FOUND);
  delete creds.registries[server.key];
  await writeCredentialStore(path, creds);
}

async function list(): Promise<void> {
  const creds = await readCredentialStore(credentialsFile());
  const out: Record<string, string> = {};
  for (const entry of Object.values(creds.registries)) out[entry.serverURL] = entry.accessKeyId;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const action = argv[0];
  if (argv.length !== 1 || action === undefined) {
    process.stdout.write(USAGE);
    return 1;
  }
  try {
    switch (action) {
      case 'store':
        await store();
        return 0;
      case 'get':
        await get();
        return 0;
      case 'erase':
        await erase();
        return 0;
      case 'list':
        await list();
        return 0;
      case 'version':
        process.stdout.write(`docker-credential-wharf (wharf) ${VERSION}\n`);
        return 0;
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stdout.write(`unknown action "${action.slice(0, 40)}"\n${USAGE}`);
        return 1;
    }
  } catch (err) {
    const message = err instanceof HelperError || err instanceof RegistryAuthError ? err.message : `docker-credential-wharf: ${(err as Error).message}`;
    process.stdout.write(`${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

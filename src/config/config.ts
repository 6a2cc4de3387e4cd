import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseS3Url } from '../storage/s3-url.js';

/**
 * One configuration object, built from defaults < wharf.yaml < WHARF_* environment <
 * command-line flags. Each setting has one name per place: camelCase in the file,
 * WHARF_UPPER_SNAKE in the environment, --kebab-case as a flag.
 */
export interface Config {
  listen: { host: string; port: number };
  dataDir: string;
  databaseUrl: string;
  storageUrl: string;
  publicUrl: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  uploadTtlMs: number;
  autoCreateRepositories: boolean;
  shutdownTimeoutMs: number;
  /** Redirect blob GETs to presigned storage URLs when the driver offers them. */
  storageRedirect: boolean;
  /** How long a writer's claim on an upload outlives a writer that died mid-chunk. */
  uploadLeaseMs: number;
  /** How often lifecycle policies run (every repository that has one); 0: never on a schedule. */
  lifecycleIntervalMs: number;
  /** Processes to fork on this machine (node:cluster); 1 runs in-process. */
  workers: number;
  /** 'iam': users, keys, tokens and policies decide every request; 'none': anyone may do anything (trials only). */
  auth: 'iam' | 'none';
  /** The 12-digit account that owns the registry; generated and kept in the database when unset. */
  accountId: string | undefined;
  region: string;
  masterKeyFile: string;
  /** First administrator's credentials (first start only); generated and printed once when unset. */
  admin: { password?: string; accessKeyId?: string; secretAccessKey?: string };
  /** TLS certificate (PEM, leaf first, may carry the chain) and key files; both or neither. Reloaded when they change. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Host name or address for a generated trial CA + certificate under <dataDir>/tls (instead of tlsCert/tlsKey). */
  tlsSelfSigned: string | undefined;
  /** Accept Authorization headers over plain HTTP from non-loopback clients. */
  allowInsecureCredentials: boolean;
  /** Proxies whose X-Forwarded-For/-Proto are believed: none (false), any (true), or these addresses/CIDRs. */
  trustProxy: boolean | string[];
  /** Garbage collection spares blobs and links touched this recently. */
  gcGracePeriodMs: number;
  /** How often garbage collection runs (cluster-wide); 0: never on a schedule (`wharf gc` still works). */
  gcIntervalMs: number;
  /** Where the file came from, if one was read. */
  configFile: string | undefined;
}

/** The settings' names; the README's table lists the same. */
export const SETTINGS = {
  listen: { env: 'WHARF_LISTEN', flag: '--listen' },
  dataDir: { env: 'WHARF_DATA_DIR', flag: '--data-dir' },
  databaseUrl: { env: 'WHARF_DATABASE_URL', flag: '--database-url' },
  storageUrl: { env: 'WHARF_STORAGE_URL', flag: '--storage-url' },
  publicUrl: { env: 'WHARF_PUBLIC_URL', flag: '--public-url' },
  logLevel: { env: 'WHARF_LOG_LEVEL', flag: '--log-level' },
  uploadTtl: { env: 'WHARF_UPLOAD_TTL', flag: '--upload-ttl' },
  autoCreateRepositories: { env: 'WHARF_AUTO_CREATE_REPOSITORIES', flag: '--auto-create-repositories' },
  shutdownTimeout: { env: 'WHARF_SHUTDOWN_TIMEOUT', flag: '--shutdown-timeout' },
  uploadLease: { env: 'WHARF_UPLOAD_LEASE', flag: '--upload-lease' },
  storageRedirect: { env: 'WHARF_STORAGE_REDIRECT', flag: '--storage-redirect' },
  lifecycleInterval: { env: 'WHARF_LIFECYCLE_INTERVAL', flag: '--lifecycle-interval' },
  workers: { env: 'WHARF_WORKERS', flag: '--workers' },
  auth: { env: 'WHARF_AUTH', flag: '--auth' },
  accountId: { env: 'WHARF_ACCOUNT_ID', flag: undefined },
  region: { env: 'WHARF_REGION', flag: undefined },
  masterKeyFile: { env: 'WHARF_MASTER_KEY_FILE', flag: undefined },
  adminPassword: { env: 'WHARF_ADMIN_PASSWORD', flag: undefined },
  adminAccessKeyId: { env: 'WHARF_ADMIN_ACCESS_KEY_ID', flag: undefined },
  adminSecretAccessKey: { env: 'WHARF_ADMIN_SECRET_ACCESS_KEY', flag: undefined },
  tlsCert: { env: 'WHARF_TLS_CERT', flag: '--tls-cert' },
  tlsKey: { env: 'WHARF_TLS_KEY', flag: '--tls-key' },
  tlsSelfSigned: { env: 'WHARF_TLS_SELF_SIGNED', flag: '--tls-self-signed' },
  allowInsecureCredentials: { env: 'WHARF_ALLOW_INSECURE_CREDENTIALS', flag: '--allow-insecure-credentials' },
  trustProxy: { env: 'WHARF_TRUST_PROXY', flag: '--trust-proxy' },
  gcGracePeriod: { env: 'WHARF_GC_GRACE_PERIOD', flag: '--gc-grace-period' },
  gcInterval: { env: 'WHARF_GC_INTERVAL', flag: '--gc-interval' },
} as const;

export type SettingName = keyof typeof SETTINGS;
export type RawSettings = Partial<Record<SettingName, unknown>>;

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500ms`, `30s`, `15m`, `24h`, `7d` (zero allowed) in milliseconds; undefined when not a duration. For CLI options outside the settings. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? DURATION.exec(v) : null;
  if (!m || Number(m[1]) === 0) {
    ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a duration: use e.g. 500ms, 30s, 15m, 24h or 7d` });
    return z.NEVER;
  }
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
});

// A duration, or 0 / off for "never" (a schedule that may be turned off).
const durationOrOff = z.union([z.number(), z.string(), z.boolean()]).transform((v, ctx) => {
  if (v === 0 || v === false || (typeof v === 'string' && /^(0|off)$/i.test(v.trim()))) return 0;
  const parsed = duration.safeParse(v);
  if (parsed.success) return parsed.data;
  ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a duration: use e.g. 30m, 1h or 1d, or off (or 0) to turn it off` });
  return z.NEVER;
});

const boolean = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  const text = v.toLowerCase();
  if (['true', '1', 'yes'].includes(text)) return true;
  if (['false', '0', 'no'].includes(text)) return false;
  ctx.addIssue({ code: 'custom', message: `"${v}" is not a boolean: use true or false` });
  return z.NEVER;
});

const listen = z
  .string()
  .transform((v, ctx) => {
    const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]*)):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'must be HOST:PORT, e.g. 0.0.0.0:5000, 127.0.0.1:5000 or [::1]:5000' });
      return z.NEVER;
    }
    return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
  });

const url = (schemes: string[], example: string) =>
  z.string().refine((v) => schemes.some((s) => v.startsWith(s)), { message: `must start with ${schemes.join(' or ')}, e.g. ${example}` });

// file:<dir>, or s3://bucket/prefix?... checked by the S3 driver's own URL grammar.
const storageUrl = z.string().superRefine((v, ctx) => {
  if (v.startsWith('file:') && v.length > 'file:'.length) return;
  if (v.startsWith('s3://')) {
    try {
      parseS3Url(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
    return;
  }
  ctx.addIssue({ code: 'custom', message: 'must be file:<directory> or s3://bucket/prefix?region=..., e.g. file:/var/lib/wharf/blobs' });
});

// A DNS name or an IP address (what a trial certificate is made for).
const tlsHost = z.string().refine((v) => isIP(v) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v), {
  message: 'must be a host name or an IP address, e.g. registry.example.internal or 192.0.2.10',
});

// true, false, or a comma-separated list (a YAML list in the file) of proxy addresses and CIDRs.
const trustProxy = z.union([z.boolean(), z.string(), z.array(z.string())]).transform((v, ctx) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && ['true', 'false'].includes(v.toLowerCase())) return v.toLowerCase() === 'true';
  const list = (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.filter((s) => {
    const [address = '', bits, extra] = s.split('/');
    const family = isIP(address);
    return family === 0 || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)));
  });
  if (list.length === 0 || bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `use true, false or proxy addresses/CIDRs such as 10.0.0.0/8,192.0.2.7${bad.length ? ` (not an address: ${bad.join(', ')})` : ''}` });
    return z.NEVER;
  }
  return list;
});

const fileSchema = z
  .object({
    listen: listen.optional(),
    dataDir: z.string().min(1).optional(),
    databaseUrl: url(['sqlite:', 'postgres://', 'postgresql://'], 'postgres://user@host:5432/db').optional(),
    storageUrl: storageUrl.optional(),
    publicUrl: z.url({ message: 'must be an absolute URL such as https://registry.example.com' }).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    uploadTtl: duration.optional(),
    autoCreateRepositories: boolean.optional(),
    shutdownTimeout: duration.optional(),
    uploadLease: duration.optional(),
    storageRedirect: boolean.optional(),
    lifecycleInterval: durationOrOff.optional(),
    workers: z
      .union([z.number(), z.string()])
      .transform((v, ctx) => {
        const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(n) || n < 1 || n > 64) {
          ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a worker count: use a whole number from 1 to 64` });
          return z.NEVER;
        }
        return n;
      })
      .optional(),
    auth: z.enum(['iam', 'none'], { message: 'must be iam or none' }).optional(),
    accountId: z.string().regex(/^\d{12}$/, 'must be 12 digits').optional(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be a region name such as us-east-1').optional(),
    masterKeyFile: z.string().min(1).optional(),
    adminPassword: z.string().min(12, 'must be at least 12 characters').optional(),
    adminAccessKeyId: z.string().regex(/^AKIA[A-Z2-7]{16}$/, 'must look like an AWS access key id (AKIA + 16 of A-Z, 2-7)').optional(),
    adminSecretAccessKey: z.string().min(30, 'must be at least 30 characters').optional(),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    tlsSelfSigned: tlsHost.optional(),
    allowInsecureCredentials: boolean.optional(),
    trustProxy: trustProxy.optional(),
    gcGracePeriod: duration.optional(),
    gcInterval: durationOrOff.optional(),
  })
  .strict();

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  flags?: RawSettings & { config?: string };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const flags = opts.flags ?? {};

  const explicitFile = flags.config ?? env.WHARF_CONFIG;
  const configFile = explicitFile ? resolve(cwd, explicitFile) : existsSync(resolve(cwd, 'wharf.yaml')) ? resolve(cwd, 'wharf.yaml') : undefined;
  const fromFile = configFile ? readConfigFile(configFile) : {};

  const fromEnv: RawSettings = {};
  for (const [key, names] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const value = env[names.env];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const fromFlags: RawSettings = {};
  for (const key of Object.keys(SETTINGS) as SettingName[]) {
    if (flags[key] !== undefined) fromFlags[key] = flags[key];
  }

  const merged = {
    ...validate(fromFile, configFile ?? 'config file', 'file'),
    ...validate(fromEnv, 'environment', 'env'),
    ...validate(fromFlags, 'command line', 'flag'),
  };

  if ((merged.tlsCert === undefined) !== (merged.tlsKey === undefined)) {
    throw new ConfigError(`invalid configuration: ${merged.tlsCert === undefined ? 'tlsKey (WHARF_TLS_KEY, --tls-key) is set without tlsCert' : 'tlsCert (WHARF_TLS_CERT, --tls-cert) is set without tlsKey'}: give both, or neither`);
  }
  if (merged.tlsSelfSigned !== undefined && merged.tlsCert !== undefined) {
    throw new ConfigError('invalid configuration: tlsSelfSigned (--tls-self-signed) and tlsCert/tlsKey exclude each other: pick one');
  }
  const dataDir = resolve(cwd, merged.dataDir ?? './wharf-data');
  return {
    listen: merged.listen ?? { host: '0.0.0.0', port: 5000 },
    dataDir,
    databaseUrl: merged.databaseUrl ?? `sqlite:${resolve(dataDir, 'wharf.db')}`,
    storageUrl: merged.storageUrl ?? `file:${resolve(dataDir, 'blobs')}`,
    publicUrl: merged.publicUrl?.replace(/\/+$/, ''),
    logLevel: merged.logLevel ?? 'info',
    uploadTtlMs: merged.uploadTtl ?? 24 * UNIT_MS.h,
    autoCreateRepositories: merged.autoCreateRepositories ?? true,
    shutdownTimeoutMs: merged.shutdownTimeout ?? 30 * UNIT_MS.s,
    uploadLeaseMs: merged.uploadLease ?? 20 * UNIT_MS.s,
    storageRedirect: merged.storageRedirect ?? false,
    lifecycleIntervalMs: merged.lifecycleInterval ?? UNIT_MS.h,
    workers: merged.workers ?? 1,
    auth: merged.auth ?? 'iam',
    accountId: merged.accountId,
    region: merged.region ?? 'us-east-1',
    masterKeyFile: resolve(cwd, merged.masterKeyFile ?? resolve(dataDir, 'master.key')),
    admin: {
      ...(merged.adminPassword ? { password: merged.adminPassword } : {}),
      ...(merged.adminAccessKeyId ? { accessKeyId: merged.adminAccessKeyId } : {}),
      ...(merged.adminSecretAccessKey ? { secretAccessKey: merged.adminSecretAccessKey } : {}),
    },
    tlsCert: merged.tlsCert === undefined ? undefined : resolve(cwd, merged.tlsCert),
    tlsKey: merged.tlsKey === undefined ? undefined : resolve(cwd, merged.tlsKey),
    tlsSelfSigned: merged.tlsSelfSigned,
    allowInsecureCredentials: merged.allowInsecureCredentials ?? false,
    gcGracePeriodMs: merged.gcGracePeriod ?? 24 * UNIT_MS.h,
    gcIntervalMs: merged.gcInterval ?? UNIT_MS.h,
    trustProxy: merged.trustProxy ?? false,
    configFile,
  };
}

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
}

function validate(raw: unknown, source: string, style: 'file' | 'env' | 'flag'): z.output<typeof fileSchema> {
  const result = fileSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path[0];
    const known = typeof key === 'string' && key in SETTINGS ? SETTINGS[key as SettingName] : undefined;
    const label = known ? (style === 'env' ? known.env : style === 'flag' ? (known.flag ?? key) : key) : String(key ?? '');
    if (issue.code === 'unrecognized_keys') return `unknown setting(s) ${issue.keys.join(', ')} (known: ${Object.keys(SETTINGS).join(', ')})`;
    return `${String(label)}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration in ${source}:\n  ${problems.join('\n  ')}`);
}

import { createCipheriv, createDecipheriv, randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Secrets at rest. Passwords: scrypt (memory-hard, in node:crypto, no native add-on),
 * stored self-describing as `scrypt$N$r$p$salt$hash`. Secret access keys and signing keys:
 * AES-256-GCM under the master key, stored as `v1$iv$tag$ciphertext` (base64url).
 */

// N=2^14, r=8: 16 MiB and ~40 ms per hash. Hashes record their parameters, so they can be raised later.
const SCRYPT = { N: 2 ** 14, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 };
/** scrypt runs at most this many at once: each holds 128*N*r bytes, and sign-in floods must not add up. */
const MAX_CONCURRENT_SCRYPT = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  if (running >= MAX_CONCURRENT_SCRYPT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await new Promise((resolve, reject) => scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))));
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: SCRYPT.maxmem });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return timingSafeEqual(actual, expected);
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare equal-length buffers even when lengths differ, so timing does not reveal the length.
  return timingSafeEqual(x.length === y.length ? x : y, y) && x.length === y.length;
}

export class MasterKey {
  private constructor(private readonly key: Buffer) {}

  /** Reads the key file, or creates it (mode 0600) with 32 random bytes when absent. */
  static async load(path: string): Promise<MasterKey> {
    try {
      const text = (await readFile(path, 'utf8')).trim();
      const key = Buffer.from(text, 'base64');
      if (key.length !== 32) throw new Error(`master key in ${path} must be 32 bytes, base64-encoded`);
      return new MasterKey(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await mkdir(dirname(path), { recursive: true });
    const key = randomBytes(32);
    // 'wx': never overwrite a key another process created a moment ago.
    try {
      await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      await chmod(path, 0o600);
      return new MasterKey(key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return MasterKey.load(path);
      throw err;
    }
  }

  static fromBytes(key: Buffer): MasterKey {
    if (key.length !== 32) throw new Error('master key must be 32 bytes');
    return new MasterKey(key);
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('$');
  }

  decrypt(stored: string): string {
    const [version, iv, tag, data] = stored.split('$');
    if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('unrecognised encrypted value');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}

const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** AWS-shaped identifiers: a 4-letter prefix (AKIA keys, AIDA users, AGPA groups, ANPA policies) + 16 chars. */
export function awsStyleId(prefix: string): string {
  let out = prefix;
  for (let i = 0; i < 16; i++) out += UPPER_DIGITS[randomInt(UPPER_DIGITS.length)];
  return out;
}

/** A 40-character secret access key. */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
}

export function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

export function newAccountId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 11; i++) id += String(randomInt(10));
  return id;
}

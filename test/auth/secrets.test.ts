import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awsStyleId, hashPassword, MasterKey, newAccountId, newSecretAccessKey, safeEqual, verifyPassword } from '../../src/auth/secrets.js';
import { LoginThrottle } from '../../src/auth/throttle.js';
import { parseScopes } from '../../src/auth/tokens.js';

describe('secrets at rest', () => {
  it('hashes passwords with scrypt, salted, and verifies them', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
    // Hashes made with other parameters still verify: they carry their own.
    const older = 'scrypt$32768$8$1$c2FsdHNhbHRzYWx0c2FsdA$' + (await import('node:crypto')).scryptSync('pw', Buffer.from('c2FsdHNhbHRzYWx0c2FsdA', 'base64url'), 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64url');
    expect(await verifyPassword('pw', older)).toBe(true);
  });

  it('creates the master key once with mode 0600 and round-trips secrets through AES-GCM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-key-'));
    try {
      const path = join(dir, 'sub', 'master.key');
      const [k1, k2] = await Promise.all([MasterKey.load(path), MasterKey.load(path)]);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const sealed = k1.encrypt('s3cret');
      expect(sealed).not.toContain('s3cret');
      expect(k2.decrypt(sealed)).toBe('s3cret');
      expect((await MasterKey.load(path)).decrypt(sealed)).toBe('s3cret');
      const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
      expect(() => k1.decrypt(tampered)).toThrow();
      const other = MasterKey.fromBytes(Buffer.alloc(32, 7));
      expect(() => other.decrypt(sealed)).toThrow();
      expect((await readFile(path, 'utf8')).trim()).toHaveLength(44);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes AWS-shaped identifiers', () => {
    expect(awsStyleId('AKIA')).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(newSecretAccessKey()).toHaveLength(40);
    expect(newAccountId()).toMatch(/^[1-9]\d{11}$/);
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});

describe('login throttle', () => {
  it('locks a key after 10 failures within the window, and only that key', () => {
    const t = new LoginThrottle(10, 60_000, 30_000);
    for (let i = 0; i < 9; i++) t.fail('alice|1.2.3.4', 1000 + i);
    expect(t.isLocked('alice|1.2.3.4', 2000)).toBe(false);
    t.fail('alice|1.2.3.4', 2000);
    expect(t.isLocked('alice|1.2.3.4', 2001)).toBe(true);
    expect(t.isLocked('alice|5.6.7.8', 2001)).toBe(false);
    expect(t.isLocked('alice|1.2.3.4', 2000 + 30_001)).toBe(false);
  });

  it('reports the first rejection of each lock once', () => {
    const t = new LoginThrottle(2, 1000, 1000);
    expect(t.firstRejection('k', 0)).toBe(false);
    t.fail('k', 0);
    t.fail('k', 1);
    expect([t.firstRejection('k', 2), t.firstRejection('k', 3), t.firstRejection('k', 4)]).toEqual([true, false, false]);
    // A new lock after this one expires is reported again.
    t.fail('k', 1500);
    t.fail('k', 1501);
    expect(t.firstRejection('k', 1502)).toBe(true);
  });

  it('forgets failures outside the window and after a success', () => {
    const t = new LoginThrottle(3, 1000, 1000);
    t.fail('k', 0);
    t.fail('k', 10);
    t.fail('k', 2000);
    expect(t.isLocked('k', 2001)).toBe(false);
    t.fail('k', 2002);
    t.succeed('k');
    t.fail('k', 2003);
    expect(t.isLocked('k', 2004)).toBe(false);
  });
});

describe('docker scopes', () => {
  it('parses repository and registry scopes, several per parameter', () => {
    expect(parseScopes(['repository:team/app:pull,push', 'registry:catalog:* repository:a:delete', 'repository(plugin):x:pull', 'junk'])).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
      { type: 'repository', name: 'a', actions: ['delete'] },
      { type: 'repository', name: 'x', actions: ['pull'] },
    ]);
  });
});

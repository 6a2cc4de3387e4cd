import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-config-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('has embedded defaults under ./wharf-data on port 5000', () => {
    const c = loadConfig({ env: {}, cwd: dir });
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 5000 });
    expect(c.dataDir).toBe(join(dir, 'wharf-data'));
    expect(c.databaseUrl).toBe(`sqlite:${join(dir, 'wharf-data', 'wharf.db')}`);
    expect(c.storageUrl).toBe(`file:${join(dir, 'wharf-data', 'blobs')}`);
    expect(c.uploadTtlMs).toBe(24 * 3600 * 1000);
    expect(c.autoCreateRepositories).toBe(true);
  });

  it('layers defaults < wharf.yaml < WHARF_* env < flags', async () => {
    await writeFile(join(dir, 'wharf.yaml'), 'listen: 127.0.0.1:6000\nuploadTtl: 2h\nlogLevel: warn\ndataDir: /srv/from-file\n');
    try {
      const fileOnly = loadConfig({ env: {}, cwd: dir });
      expect(fileOnly.listen.port).toBe(6000);
      expect(fileOnly.uploadTtlMs).toBe(2 * 3600 * 1000);
      expect(fileOnly.configFile).toBe(join(dir, 'wharf.yaml'));

      const env = { WHARF_LISTEN: '127.0.0.1:7000', WHARF_UPLOAD_TTL: '30m' };
      const withEnv = loadConfig({ env, cwd: dir });
      expect(withEnv.listen.port).toBe(7000);
      expect(withEnv.uploadTtlMs).toBe(30 * 60 * 1000);
      expect(withEnv.logLevel).toBe('warn');

      const withFlags = loadConfig({ env, cwd: dir, flags: { listen: '[::1]:8000', dataDir: 'd' } });
      expect(withFlags.listen).toEqual({ host: '::1', port: 8000 });
      expect(withFlags.dataDir).toBe(join(dir, 'd'));
      expect(withFlags.uploadTtlMs).toBe(30 * 60 * 1000);
    } finally {
      await rm(join(dir, 'wharf.yaml'));
    }
  });

  it('names the setting and the source in validation errors', () => {
    expect(() => loadConfig({ env: { WHARF_LISTEN: 'nope' }, cwd: dir })).toThrow(/environment[\s\S]*WHARF_LISTEN: must be HOST:PORT/);
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { uploadTtl: '3 days' } })).toThrow(/--upload-ttl: "3 days" is not a duration/);
    expect(() => loadConfig({ env: { WHARF_DATABASE_URL: 'mysql://x' }, cwd: dir })).toThrow(/WHARF_DATABASE_URL: must start with sqlite:/);
    expect(() => loadConfig({ env: { WHARF_AUTO_CREATE_REPOSITORIES: 'perhaps' }, cwd: dir })).toThrow(ConfigError);
  });

  it('rejects unknown keys and invalid YAML in the config file', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'listn: 1.2.3.4:5\n');
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { config: bad } })).toThrow(/unknown setting\(s\) listn/);
    await writeFile(bad, 'listen: [\n');
    expect(() => loadConfig({ env: { WHARF_CONFIG: bad }, cwd: dir })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ env: {}, cwd: dir, flags: { config: join(dir, 'missing.yaml') } })).toThrow(/cannot read config file/);
  });
});

// The TLS settings: names in each place, defaults, and the combinations refused at start-up.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const load = (opts: { env?: Record<string, string>; flags?: Record<string, unknown> }) => loadConfig({ cwd: '/srv/wharf', env: opts.env ?? {}, flags: opts.flags ?? {} });

describe('TLS configuration', () => {
  it('defaults to plain HTTP, credentials refused from other machines, no trusted proxy', () => {
    const c = load({});
    expect(c.tlsCert).toBeUndefined();
    expect(c.tlsKey).toBeUndefined();
    expect(c.tlsSelfSigned).toBeUndefined();
    expect(c.allowInsecureCredentials).toBe(false);
    expect(c.trustProxy).toBe(false);
  });

  it('reads WHARF_TLS_CERT / WHARF_TLS_KEY relative to the working directory; flags win', () => {
    const c = load({ env: { WHARF_TLS_CERT: 'tls/cert.pem', WHARF_TLS_KEY: '/etc/wharf/key.pem' } });
    expect(c.tlsCert).toBe('/srv/wharf/tls/cert.pem');
    expect(c.tlsKey).toBe('/etc/wharf/key.pem');
    const f = load({ env: { WHARF_TLS_CERT: 'a.pem', WHARF_TLS_KEY: 'b.pem' }, flags: { tlsCert: '/x/c.pem', tlsKey: '/x/k.pem' } });
    expect([f.tlsCert, f.tlsKey]).toEqual(['/x/c.pem', '/x/k.pem']);
  });

  it('refuses a certificate without its key, and the reverse', () => {
    expect(() => load({ env: { WHARF_TLS_CERT: 'cert.pem' } })).toThrow(ConfigError);
    expect(() => load({ env: { WHARF_TLS_CERT: 'cert.pem' } })).toThrow(/tlsCert .* without tlsKey/);
    expect(() => load({ flags: { tlsKey: 'key.pem' } })).toThrow(/tlsKey .* without tlsCert/);
  });

  it('takes a host name or an address for --tls-self-signed, and not with --tls-cert', () => {
    expect(load({ env: { WHARF_TLS_SELF_SIGNED: 'registry.example.internal' } }).tlsSelfSigned).toBe('registry.example.internal');
    expect(load({ flags: { tlsSelfSigned: '192.0.2.10' } }).tlsSelfSigned).toBe('192.0.2.10');
    expect(load({ flags: { tlsSelfSigned: '::1' } }).tlsSelfSigned).toBe('::1');
    expect(() => load({ flags: { tlsSelfSigned: 'https://nope/' } })).toThrow(/--tls-self-signed: must be a host name or an IP address/);
    expect(() => load({ flags: { tlsSelfSigned: 'a.test', tlsCert: 'c.pem', tlsKey: 'k.pem' } })).toThrow(/exclude each other/);
  });

  it('parses allowInsecureCredentials and trustProxy', () => {
    expect(load({ env: { WHARF_ALLOW_INSECURE_CREDENTIALS: 'true' } }).allowInsecureCredentials).toBe(true);
    expect(() => load({ env: { WHARF_ALLOW_INSECURE_CREDENTIALS: 'maybe' } })).toThrow(/WHARF_ALLOW_INSECURE_CREDENTIALS: "maybe" is not a boolean/);
    expect(load({ env: { WHARF_TRUST_PROXY: 'true' } }).trustProxy).toBe(true);
    expect(load({ env: { WHARF_TRUST_PROXY: 'false' } }).trustProxy).toBe(false);
    expect(load({ env: { WHARF_TRUST_PROXY: '10.0.0.0/8, 192.0.2.7,fd00::/8' } }).trustProxy).toEqual(['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
    expect(load({ flags: { trustProxy: ['127.0.0.1'] } }).trustProxy).toEqual(['127.0.0.1']);
    expect(() => load({ flags: { trustProxy: '10.0.0.0/33' } })).toThrow(/--trust-proxy: .*not an address: 10\.0\.0\.0\/33/);
    expect(() => load({ flags: { trustProxy: 'proxy.internal' } })).toThrow(/--trust-proxy/);
  });
});

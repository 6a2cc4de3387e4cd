// `wharf gc` from the built CLI against a running server's data, and /metrics under IAM auth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciClient } from '../helpers/oci.js';
import { startWharf, type TestWharf } from '../helpers/wharf.js';
import { wharfCli } from '../cli/cli.js';

describe('wharf gc', { timeout: 60_000 }, () => {
  let reg: TestWharf;
  let client: OciClient;
  let cli: ReturnType<typeof wharfCli>;

  beforeAll(async () => {
    reg = await startWharf({ config: { gcInterval: 'off' } });
    client = new OciClient(reg);
    cli = wharfCli({ dataDir: reg.dataDir, cwd: reg.dataDir });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('reports in a dry run, then collects while the server keeps serving, and audits the run', async () => {
    const kept = await client.pushImage('cli/gc', 'kept', { layers: 1, layerSize: 4000 });
    const gone = await client.pushImage('cli/gc', 'gone', { layers: 2, layerSize: 5000 });
    expect((await client.deleteManifest('cli/gc', gone.manifest.digest)).status).toBe(202);

    // The default grace period (24h) spares everything just pushed.
    expect(await cli.json(['gc', '--dry-run'])).toMatchObject({ dryRun: true, blobsDeleted: 0, bytesReclaimed: 0 });
    const dry = await cli.json<{ blobsDeleted: number; bytesReclaimed: number }>(['gc', '--dry-run', '--grace-period', '0s']);
    expect(dry).toMatchObject({ dryRun: true, blobsDeleted: 3, bytesReclaimed: gone.config.size + 10_000 });
    expect((await client.headBlob('cli/gc', gone.layers[0]!.digest)).status).toBe(200);

    const table = await cli(['gc', '--grace-period', '0s']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^blobs removed:\s+3$/m);
    expect(table.stdout).toMatch(new RegExp(`^bytes reclaimed:\\s+${gone.config.size + 10_000}$`, 'm'));
    for (const blob of [gone.config, ...gone.layers]) expect((await client.headBlob('cli/gc', blob.digest)).status).toBe(404);
    for (const blob of [kept.config, ...kept.layers]) expect((await client.getBlob('cli/gc', blob.digest)).status).toBe(200);
    expect((await client.getManifest('cli/gc', 'kept')).status).toBe(200);

    const audit = await cli.json<{ action: string; outcome: string }[]>(['audit']);
    expect(audit.find((e) => e.action === 'GarbageCollect')).toMatchObject({ outcome: 'success' });
    const bad = await cli(['gc', '--grace-period', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a duration/);
  });
});

describe('/metrics with IAM auth', () => {
  let reg: TestWharf;
  const password = 'metrics-admin-password';

  beforeAll(async () => {
    reg = await startWharf({ config: { auth: 'iam', adminPassword: password, gcInterval: 'off' } });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('asks for credentials, refuses wrong ones, and serves an administrator', async () => {
    const anonymous = await fetch(`${reg.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="wharf"');
    const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
    expect((await fetch(`${reg.url}/metrics`, { headers: basic('admin', 'wrong-password-here') })).status).toBe(401);
    const ok = await fetch(`${reg.url}/metrics`, { headers: basic('admin', password) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^wharf_gc_runs_total 0$/m);
  });
});

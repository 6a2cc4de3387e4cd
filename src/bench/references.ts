// The machine's physical references, measured before any server starts: what one core can
// hash, what the data disk can write and sync, and what loopback TCP can carry.
import { spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { keystream } from './data.js';
import { locateOrInstall, mbps, MiB, now, run } from './util.js';

export interface References {
  /** openssl speed -bytes 16384 sha256, one core, MB/s */
  sha256: number;
  /** sequential write of `diskBytes` then fsync, MB/s */
  diskWrite: number;
  diskBytes: number;
  diskDir: string;
  /** one TCP connection over 127.0.0.1, sender and receiver in separate processes, MB/s */
  loopback: number;
  loopbackBytes: number;
}

export async function measureReferences(o: { dir: string; diskBytes: number; loopbackBytes: number; opensslSeconds: number; log: (m: string) => void }): Promise<References> {
  o.log('references: openssl speed sha256 (one core)');
  const sha = await opensslSha256(o.opensslSeconds, o.log);
  o.log(`references: sequential write + fsync of ${(o.diskBytes / MiB).toFixed(0)} MiB in ${o.dir}`);
  const disk = await diskWrite(o.dir, o.diskBytes);
  o.log(`references: loopback TCP, ${(o.loopbackBytes / MiB).toFixed(0)} MiB`);
  const loop = await loopbackThroughput(o.loopbackBytes);
  return { sha256: sha, diskWrite: disk, diskBytes: o.diskBytes, diskDir: o.dir, loopback: loop, loopbackBytes: o.loopbackBytes };
}

async function opensslSha256(seconds: number, log: (m: string) => void): Promise<number> {
  const openssl = locateOrInstall('openssl', 'openssl', log);
  const { stdout } = await run(openssl, ['speed', '-bytes', '16384', '-seconds', String(seconds), 'sha256'], { timeoutMs: seconds * 1000 + 30_000 });
  // "sha256   1358741.50k": thousands of bytes per second
  const m = /^sha256\s+([\d.]+)k\s*$/m.exec(stdout);
  if (!m) throw new Error(`could not parse openssl speed output:\n${stdout}`);
  return (Number(m[1]) * 1000) / 1e6;
}

async function diskWrite(dir: string, bytes: number): Promise<number> {
  const path = join(dir, `disk-reference-${process.pid}.bin`);
  const block = keystream('disk-reference').next(MiB);
  const handle = await open(path, 'w');
  try {
    const start = now();
    for (let written = 0; written < bytes; written += block.length) await handle.write(block, 0, Math.min(block.length, bytes - written));
    await handle.sync();
    return mbps(bytes, now() - start);
  } finally {
    await handle.close();
    await rm(path, { force: true });
  }
}

// The receiving side runs in its own process, as a server would: it counts bytes and answers
// one byte when it has them all.
const SINK = `
const net = require('node:net');
const total = Number(process.argv[1]);
const srv = net.createServer((s) => {
  let got = 0;
  s.on('data', (d) => { got += d.length; if (got >= total) { s.end('k'); srv.close(); } });
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(String(srv.address().port) + '\\n'));
`;

async function loopbackThroughput(bytes: number): Promise<number> {
  const sink = spawn(process.execPath, ['-e', SINK, String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      sink.stdout.setEncoding('utf8');
      sink.stdout.once('data', (d: string) => resolve(Number(d.trim())));
      sink.once('error', reject);
      sink.once('exit', (code) => reject(new Error(`loopback sink exited with ${code}`)));
    });
    const block = keystream('loopback-reference').next(MiB);
    return await new Promise<number>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, noDelay: true });
      let start = 0;
      socket.on('error', reject);
      socket.on('data', () => {
        resolve(mbps(bytes, now() - start));
        socket.destroy();
      });
      socket.on('connect', () => {
        start = now();
        let sent = 0;
        const pump = () => {
          while (sent < bytes) {
            const n = Math.min(block.length, bytes - sent);
            sent += n;
            if (!socket.write(n === block.length ? block : block.subarray(0, n))) return void socket.once('drain', pump);
          }
        };
        pump();
      });
    });
  } finally {
    sink.kill();
  }
}

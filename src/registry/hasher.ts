import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from './digest.js';

/**
 * Incremental digests of upload bodies. An upload's first INLINE_LIMIT bytes are only
 * gathered; a body that ends there (most blobs: configs, small layers) is hashed on the
 * spot in one call. Past that, the bytes go to a hashing thread in STAGE-sized copies, so on
 * a multi-core machine receiving, hashing and writing a large layer run in parallel instead
 * of all on the event loop (SHA-256 alone was 40 % of the main thread during a 1 GiB push).
 *
 * Back-pressure: when more than QUEUE_LIMIT bytes wait for the hashing thread, update()
 * blocks the event loop until it catches up (the thread only falls behind when CPUs are
 * scarce, and then the event loop's waiting gives it the CPU it needs). Memory per process
 * stays bounded by QUEUE_LIMIT + one stage per upload.
 */
const STAGE = 512 * 1024;
const INLINE_LIMIT = 1024 * 1024;
const QUEUE_LIMIT = 2 * 1024 * 1024;
const POOL_MAX = 4;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const queued = new Int32Array(workerData.queued);
const states = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let hash = states.get(m.id);
    if (!hash) { hash = createHash(m.algorithm); states.set(m.id, hash); }
    hash.update(new Uint8Array(m.buffer, 0, m.length));
    Atomics.sub(queued, 0, m.length);
    Atomics.notify(queued, 0);
    parentPort.postMessage({ op: 'buffer', buffer: m.buffer }, [m.buffer]);
  } else if (m.op === 'digest') {
    const hash = states.get(m.id) ?? createHash(m.algorithm);
    states.delete(m.id);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: hash.digest('hex') });
  } else if (m.op === 'peek') {
    const hash = states.get(m.id) ?? createHash(m.algorithm);
    parentPort.postMessage({ op: 'digest', id: m.id, hex: hash.copy().digest('hex') });
  } else if (m.op === 'drop') {
    states.delete(m.id);
  }
});
`;

interface WorkerReply {
  op: 'buffer' | 'digest';
  buffer?: ArrayBuffer;
  id?: number;
  hex?: string;
}

class HashThread {
  private readonly worker: Worker;
  private readonly queued = new Int32Array(new SharedArrayBuffer(4));
  private readonly pool: ArrayBuffer[] = [];
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  failed: Error | undefined;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { queued: this.queued.buffer },
      // It holds a few hash states and one message at a time: keep its heap (and RSS) small.
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    this.worker.unref();
    this.worker.on('message', (m: WorkerReply) => {
      if (m.op === 'buffer' && m.buffer) {
        if (this.pool.length < POOL_MAX) this.pool.push(m.buffer);
      } else if (m.op === 'digest' && m.id !== undefined) {
        this.waiting.get(m.id)?.resolve(m.hex!);
        this.waiting.delete(m.id);
      }
    });
    const fail = (err: Error) => {
      this.failed ??= err;
      for (const w of this.waiting.values()) w.reject(this.failed);
      this.waiting.clear();
      if (thread === this) thread = undefined;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`hashing thread exited (${code})`)));
  }

  buffer(): ArrayBuffer {
    return this.pool.pop() ?? new ArrayBuffer(STAGE);
  }

  update(id: number, algorithm: DigestAlgorithm, buffer: ArrayBuffer, length: number): void {
    if (this.failed) throw this.failed;
    for (let q = Atomics.load(this.queued, 0); q > QUEUE_LIMIT; q = Atomics.load(this.queued, 0)) {
      Atomics.wait(this.queued, 0, q, 50);
    }
    Atomics.add(this.queued, 0, length);
    this.worker.postMessage({ op: 'update', id, algorithm, buffer, length }, [buffer]);
  }

  /** The digest of everything sent for `id`; `peek` keeps the state for more updates. */
  digest(id: number, algorithm: DigestAlgorithm, op: 'digest' | 'peek' = 'digest'): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ op, id, algorithm });
    });
  }

  drop(id: number): void {
    if (!this.failed) this.worker.postMessage({ op: 'drop', id });
  }
}

let thread: HashThread | undefined;
let nextId = 1;

/** One upload's running digest. Not reusable after digest() or dispose(). */
export class UploadHasher {
  private readonly id = nextId++;
  /** Chunks kept (not copied) while the upload is still under INLINE_LIMIT. */
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private stage: Uint8Array | undefined;
  private staged = 0;
  /** The thread this hasher's state lives in, once it outgrew INLINE_LIMIT. */
  private owner: HashThread | undefined;

  constructor(readonly algorithm: DigestAlgorithm) {}

  update(chunk: Buffer): void {
    if (!this.owner) {
      if (this.keptBytes + chunk.length <= INLINE_LIMIT) {
        this.kept.push(chunk);
        this.keptBytes += chunk.length;
        return;
      }
      thread ??= new HashThread();
      this.owner = thread;
      const kept = this.kept;
      this.kept = [];
      this.keptBytes = 0;
      for (const k of kept) this.copy(k);
    }
    this.copy(chunk);
  }

  private copy(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      this.stage ??= new Uint8Array(this.owner!.buffer());
      const n = Math.min(chunk.length - offset, STAGE - this.staged);
      this.stage.set(chunk.subarray(offset, offset + n), this.staged);
      this.staged += n;
      offset += n;
      if (this.staged === STAGE) this.send();
    }
  }

  private send(): void {
    const stage = this.stage!;
    this.stage = undefined;
    this.owner!.update(this.id, this.algorithm, stage.buffer as ArrayBuffer, this.staged);
    this.staged = 0;
  }

  /** The hex digest of every byte given to update(). */
  async digest(): Promise<string> {
    if (!this.owner) {
      // Never left this thread: the kept chunks, hashed now.
      const hash = createHash(this.algorithm);
      for (const k of this.kept) hash.update(k);
      this.kept = [];
      return hash.digest('hex');
    }
    if (this.staged > 0) this.send();
    return this.owner.digest(this.id, this.algorithm);
  }

  /**
   * The hex digest of every byte given to update() so far, leaving the state open for more:
   * recorded with an acknowledged chunk, so that whichever process finishes the upload
   * need not read it back to hash it.
   */
  async peek(): Promise<string> {
    if (!this.owner) {
      const hash = createHash(this.algorithm);
      for (const k of this.kept) hash.update(k);
      return hash.digest('hex');
    }
    if (this.staged > 0) this.send();
    return this.owner.digest(this.id, this.algorithm, 'peek');
  }

  /** Forgets the state (an abandoned or restarted upload). */
  dispose(): void {
    this.kept = [];
    this.stage = undefined;
    this.owner?.drop(this.id);
  }
}

// Request bodies trigger young-generation collections, so their dead Buffers never pile up
// (see registry/body-memory.ts). Observed through V8's own GC performance entries.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { bodyBytesReceived, canCollect } from '../../src/registry/body-memory.js';

async function collectionsDuring(fn: () => void, kind: number, waitMs = 100): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === kind) count++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  fn();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  observer.disconnect();
  return count;
}
const minorCollectionsDuring = (fn: () => void) => collectionsDuring(fn, constants.NODE_PERFORMANCE_GC_MINOR);

describe('body memory', () => {
  it('can reach V8 gc() without --expose-gc on the command line', () => {
    expect(process.execArgv).not.toContain('--expose-gc');
    expect(canCollect).toBe(true);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });

  it('collects the young generation once per 8 MiB of body bytes, not per chunk', async () => {
    // 64 KiB chunks, as the HTTP parser delivers them: 32 MiB -> 4 collections.
    const forced = await minorCollectionsDuring(() => {
      for (let i = 0; i < 512; i++) bodyBytesReceived(64 * 1024);
    });
    expect(forced).toBeGreaterThanOrEqual(4);
    expect(forced).toBeLessThan(10);
    const none = await minorCollectionsDuring(() => {
      for (let i = 0; i < 16; i++) bodyBytesReceived(4096);
    });
    expect(none).toBeLessThanOrEqual(1);
  });
});

// Request bodies trigger young-generation collections, so their dead Buffers never pile up
// (see registry/body-memory.ts). Observed through V8's own GC performance entries.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { bodyBytesReceived, canCollect, governorStep, heapGovernorRunning, startHeapGovernor } from '../../src/registry/body-memory.js';

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

  it('heap governor: collects once the heap is the slack past what the last collection left, then re-bases', () => {
    const MB = 1e6;
    const state = { heapAfterCollection: 0, collecting: false };
    expect(governorStep(state, 30 * MB, 32 * MB)).toBe(false); // first check: the baseline
    expect(governorStep(state, 60 * MB, 32 * MB)).toBe(false); // within the slack
    expect(governorStep(state, 25 * MB, 32 * MB)).toBe(false); // smaller: the new floor
    expect(state.heapAfterCollection).toBe(25 * MB);
    expect(governorStep(state, 58 * MB, 32 * MB)).toBe(true); // 33 MB past it
    expect(governorStep(state, 40 * MB, 32 * MB)).toBe(false); // the check after: what it left
    expect(state).toEqual({ heapAfterCollection: 40 * MB, collecting: false });
    expect(governorStep(state, 71 * MB, 32 * MB)).toBe(false);
    expect(governorStep(state, 73 * MB, 32 * MB)).toBe(true);
  });

  it('heap governor: one timer per process, stopped when the last server stops', () => {
    expect(heapGovernorRunning()).toBe(false);
    const stopA = startHeapGovernor();
    const stopB = startHeapGovernor();
    expect(heapGovernorRunning()).toBe(true);
    stopA();
    stopA(); // a second stop from the same server does not count twice
    expect(heapGovernorRunning()).toBe(true);
    stopB();
    expect(heapGovernorRunning()).toBe(false);
  });
});

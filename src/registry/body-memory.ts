import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps the memory that request bodies leave behind small.
 *
 * Node's HTTP parser copies every socket read of a request body (up to 64 KiB) into a new
 * Buffer. Once written and hashed those Buffers are garbage, but V8 frees their memory only
 * at a garbage collection, and it schedules collections by JavaScript heap allocation, of
 * which a body chunk makes almost none: during a 1 GiB push about 50 MB of dead chunks piled
 * up before V8's external-memory limit started a full collection. A young-generation
 * collection (a scavenge, well under a millisecond when few objects are live) every
 * BODY_STEP bytes of received body frees them while they are still young, and glibc hands
 * the same memory to the next chunks: the peak stays near BODY_STEP plus what is in flight.
 */
const BODY_STEP = 8 * 1024 * 1024;

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/**
 * V8's gc(), whether or not the process was started with --expose-gc: the flag can be
 * turned on for a moment to make a fresh context that has it. Undefined where V8 refuses
 * (then collections simply stay V8's own business).
 */
function exposeGc(): GcFunction | undefined {
  const global = (globalThis as { gc?: GcFunction }).gc;
  if (global) return global;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as GcFunction;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

const gc = exposeGc();
let received = 0;

/** Counts request body bytes received (all uploads together) and collects the young generation every BODY_STEP. */
export function bodyBytesReceived(bytes: number): void {
  received += bytes;
  if (received < BODY_STEP) return;
  received = 0;
  gc?.({ type: 'minor' });
}

/**
 * V8 lets the old generation grow to about four times what the last full collection left
 * before collecting again: on a small heap that is 60-90 MB of dead objects (a burst of small
 * requests promotes some of every one), all of it resident. Checked every HEAP_CHECK_MS: when
 * the heap has grown HEAP_SLACK past what the last collection left, a full collection runs.
 * A forced full collection is a whole stop-the-world one, so the check is coarse: at 16 MB
 * every 250 ms a push + small-blob + manifest run peaked at 160 MB instead of 189 MB, but
 * HEAD and manifest GET rates fell by a quarter (docs/benchmarks.md).
 */
const HEAP_CHECK_MS = 1000;
const HEAP_SLACK = 32 * 1024 * 1024;

/** What the governor knows between checks: the heap the last collection left, and whether one was just asked for. */
export interface GovernorState {
  heapAfterCollection: number;
  collecting: boolean;
}

/** One check: updates `state` from the heap in use and says whether to force a full collection. */
export function governorStep(state: GovernorState, used: number, slack = HEAP_SLACK): boolean {
  if (state.collecting || state.heapAfterCollection === 0 || used < state.heapAfterCollection) {
    // The check after a collection (or the first one) sees what it left; a smaller heap is the new floor.
    state.heapAfterCollection = used;
    state.collecting = false;
    return false;
  }
  if (used <= state.heapAfterCollection + slack) return false;
  state.collecting = true;
  return true;
}

const governor: GovernorState = { heapAfterCollection: 0, collecting: false };
let governorTimer: NodeJS.Timeout | undefined;
let governorUsers = 0;

/**
 * Starts the process-wide governor (the heap is process-wide: several servers in one process,
 * as in tests, share one timer); the returned function stops it once every starter has.
 */
export function startHeapGovernor(): () => void {
  if (!gc) return () => undefined;
  governorUsers++;
  if (!governorTimer) {
    governorTimer = setInterval(() => {
      if (governorStep(governor, getHeapStatistics().used_heap_size)) gc?.({ type: 'major', execution: 'async' });
    }, HEAP_CHECK_MS);
    governorTimer.unref();
  }
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    if (--governorUsers === 0 && governorTimer) {
      clearInterval(governorTimer);
      governorTimer = undefined;
    }
  };
}

/** Whether the governor's timer is running in this process (for tests and diagnostics). */
export function heapGovernorRunning(): boolean {
  return governorTimer !== undefined;
}

/** Whether the collections above can run in this process (for tests and diagnostics). */
export const canCollect = gc !== undefined;

/**
 * Failed sign-ins per key (identity + source address): after MAX_FAILURES within WINDOW_MS
 * the key is locked for LOCK_MS. In memory, per process: each node throttles on its own,
 * which bounds guessing to (nodes x MAX_FAILURES) per window.
 */
const MAX_FAILURES = 10;
const WINDOW_MS = 5 * 60_000;
const LOCK_MS = 5 * 60_000;
const MAX_KEYS = 100_000;

interface Entry {
  failures: number[];
  lockedUntil: number;
  /** A rejection during the current lock has been reported (audited) already. */
  reported?: boolean;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxFailures = MAX_FAILURES,
    private readonly windowMs = WINDOW_MS,
    private readonly lockMs = LOCK_MS,
  ) {}

  isLocked(key: string, now = Date.now()): boolean {
    return (this.entries.get(key)?.lockedUntil ?? 0) > now;
  }

  fail(key: string, now = Date.now()): void {
    if (this.entries.size >= MAX_KEYS) this.prune(now);
    const entry = this.entries.get(key) ?? { failures: [], lockedUntil: 0 };
    entry.failures = entry.failures.filter((t) => t > now - this.windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.maxFailures) {
      entry.lockedUntil = now + this.lockMs;
      entry.failures = [];
      entry.reported = false;
    }
    this.entries.set(key, entry);
  }

  /**
   * True the first time a locked key is rejected in this lock, false after: a flood of
   * attempts against a locked key leaves one audit event, not one per request.
   */
  firstRejection(key: string, now = Date.now()): boolean {
    const entry = this.entries.get(key);
    if (!entry || entry.lockedUntil <= now || entry.reported) return false;
    entry.reported = true;
    return true;
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.lockedUntil <= now && entry.failures.every((t) => t <= now - this.windowMs)) this.entries.delete(key);
    }
  }
}

import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../src/auth/ttl-cache.js';

describe('TtlCache', () => {
  it('forgets entries after their time to live', () => {
    const c = new TtlCache<string, number>(100);
    c.set('a', 1, 0);
    expect(c.get('a', 99)).toBe(1);
    expect(c.get('a', 100)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('stays within its bound however many distinct keys arrive, dropping expired then oldest entries', () => {
    const c = new TtlCache<string, number>(1000, 100);
    for (let i = 0; i < 10_000; i++) c.set(`name-${i}`, i, i);
    expect(c.size).toBeLessThanOrEqual(100);
    // The newest survive; the oldest went first.
    expect(c.get('name-9999', 10_000)).toBe(9999);
    expect(c.get('name-0', 10_000)).toBeUndefined();
  });

  it('keeps null values distinct from absence', () => {
    const c = new TtlCache<string, null>(1000);
    c.set('gone', null, 0);
    expect(c.get('gone', 1)).toBeNull();
    expect(c.get('other', 1)).toBeUndefined();
  });
});

// Listing helpers: a full listing (following Link headers from the first request) and a
// paginated walk with ?n=, timing each request.
import { nextLink, type RegistryClient } from '../http.js';
import { median, now } from '../util.js';

export interface Walk {
  items: number;
  pages: number;
  totalMs: number;
  /** Median time of one page request. */
  pageMs: number;
}

/** Walks a listing from `first` following `rel="next"` links; `key` is the JSON array's name. */
export async function walk(c: RegistryClient, first: string, key: 'tags' | 'repositories'): Promise<Walk> {
  const pageTimes: number[] = [];
  let items = 0;
  let next: string | undefined = first;
  const start = now();
  while (next) {
    const t = now();
    const res = await c.expect(200, next);
    pageTimes.push(now() - t);
    const list = (JSON.parse(res.body.toString('utf8')) as Record<string, unknown>)[key];
    items += Array.isArray(list) ? list.length : 0;
    next = nextLink(res.headers);
    if (pageTimes.length > 100_000) throw new Error(`${first}: endless pagination`);
  }
  return { items, pages: pageTimes.length, totalMs: now() - start, pageMs: median(pageTimes) };
}

/** The median of `tries` walks, by total time. */
export async function medianWalk(c: RegistryClient, first: string, key: 'tags' | 'repositories', tries: number): Promise<Walk> {
  const walks: Walk[] = [];
  for (let i = 0; i < tries; i++) walks.push(await walk(c, first, key));
  walks.sort((a, b) => a.totalMs - b.totalMs);
  return walks[walks.length >> 1]!;
}

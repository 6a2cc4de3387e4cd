/**
 * Whether `value` matches `pattern`, where `*` matches any run of characters (none included)
 * and everything else matches itself. Greedy with one backtrack point (the last `*`), so it
 * runs in O(pattern x value) whatever the pattern: a regular expression built from a
 * user-supplied filter such as `*a*a*a*a*...*b` backtracks exponentially, and one push
 * checked against it would stall the event loop.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let star = -1; // position of the last `*` seen in the pattern
  let resume = 0; // where in the value that `*` currently stops
  while (v < value.length) {
    if (pattern[p] === '*') {
      star = p++;
      resume = v;
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (star >= 0) {
      // Let the last `*` swallow one more character and retry from there.
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

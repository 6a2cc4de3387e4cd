// Shared set-up for the real-client tests: the registry under test (Wharf or the reference
// registry, see target.ts) behind a recording proxy, and a temp dir removed on teardown.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTarget, target, type TestRegistry } from './target.js';
import { startProxy, mounts, type RecordingProxy, type RecordedRequest } from './proxy.js';

export interface ClientEnv {
  registry: TestRegistry;
  /** the recording proxy in front of the registry, unless WHARF_TEST_NO_PROXY=1 */
  proxy: RecordingProxy | undefined;
  /** what clients put in image references: the proxy's host, or the registry's */
  host: string;
  /** base URL for direct HTTP checks against the registry */
  url: string;
  /** a private temp dir for this test file */
  tmp: string;
  /** label the requests that follow (no-op without the proxy) */
  mark(phase: string): void;
  /** requests seen in a phase ([] without the proxy) */
  phase(phase: string): RecordedRequest[];
}

export async function startClientEnv(name: string): Promise<ClientEnv> {
  // lowercase on purpose: podman names an image pulled from oci:PATH after the path
  const tmp = join(tmpdir(), `wharf-${name}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp, { mode: 0o700 });
  let registry: TestRegistry | undefined;
  try {
    registry = await startTarget();
    const proxy = process.env.WHARF_TEST_NO_PROXY === '1' ? undefined : await startProxy(registry.url, `${name} -> ${target()}`);
    return {
      registry,
      proxy,
      host: proxy?.host ?? registry.host,
      url: registry.url,
      tmp,
      mark: (p) => proxy?.mark(p),
      phase: (p) => proxy?.inPhase(p) ?? [],
    };
  } catch (err) {
    await registry?.stop().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Tears down in reverse order; each step runs even if an earlier one fails. */
export async function stopClientEnv(env: ClientEnv | undefined, ...extra: (() => Promise<unknown> | unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  const step = async (f: () => Promise<unknown> | unknown) => {
    try {
      await f();
    } catch (err) {
      errors.push(err);
    }
  };
  for (const f of extra) await step(f);
  if (env) {
    await step(() => env.proxy?.stop());
    await step(() => env.registry.stop());
    await step(() => rm(env.tmp, { recursive: true, force: true, maxRetries: 3 }));
  }
  if (errors.length > 0) throw errors[0];
}

/**
 * Checks that a push into `repo` reused shared blobs by cross-repository mount rather than
 * uploading them again. Returns a description for failure messages. Without the proxy it
 * cannot see the requests and checks nothing.
 */
export function mountReport(env: ClientEnv, phase: string, repo: string) {
  const reqs = env.phase(phase);
  const m = mounts(reqs).filter((x) => x.to === repo);
  return {
    observed: env.proxy !== undefined,
    mounts: m,
    succeeded: m.filter((x) => x.status === 201).map((x) => x.digest),
    log: env.proxy?.summary(reqs) ?? '',
  };
}

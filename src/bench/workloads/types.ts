import type { BlobFile, OciLayout } from '../data.js';
import type { Target } from '../servers.js';

export type Better = 'higher' | 'lower';

/**
 * A target, stated as a ratio "Wharf / reference, higher is better": for a metric where
 * lower is better (ms, seconds, p99) the ratio is reference / Wharf. `maxValue` is an
 * absolute bound on Wharf's own value (peak RSS).
 */
export type Goal = { ratioAtLeast: number } | { maxValue: number };

export interface MetricSpec {
  id: string;
  label: string;
  unit: string;
  better: Better;
  goal?: Goal;
}

export interface Sizes {
  largeBlob: number;
  chunk: number;
  pullClients: number;
  smallBlobs: number;
  smallBlobSize: number;
  smallClients: number;
  headDurationMs: number;
  manifestDurationMs: number;
  manifestConnections: number;
  warmupMs: number;
  tags: number;
  tagClients: number;
  listTries: number;
  pageSize: number;
  repositories: number;
  skopeoLayers: number;
  skopeoLayerBytes: number;
  diskBytes: number;
  loopbackBytes: number;
  opensslSeconds: number;
}

export interface BenchContext {
  quick: boolean;
  sizes: Sizes;
  repetitions: number;
  workDir: string;
  cacheDir: string;
  log: (msg: string) => void;
  /** The large blob, generated before the run. */
  largeBlob: BlobFile;
  /** One OCI layout per repetition (skopeo's blob cache would mount a layout pushed before). */
  layouts: OciLayout[];
}

export interface RunResult {
  values: Record<string, number>;
  /** Facts worth reading next to the numbers (page counts, bytes, errors seen). */
  details?: Record<string, string | number>;
}

export interface Workload {
  id: string;
  title: string;
  metrics: MetricSpec[];
  /** Untimed preparation, once per target (e.g. pushing what the workload reads). */
  setup?(target: Target, ctx: BenchContext): Promise<void>;
  /** One timed repetition against one target. */
  run(target: Target, ctx: BenchContext, rep: number): Promise<RunResult>;
}

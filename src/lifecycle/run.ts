// Running a repository's lifecycle policy: load its images, evaluate (the pure engine), and
// unless it is a dry run, delete what expired, unit by unit, each in one write transaction that
// re-checks the images first. Previews, `wharf lifecycle run` and the scheduled job all call this,
// so a preview, a dry run and a real run on the same data agree.
import type { Kysely } from 'kysely';
import type { Connection } from '../metadata/connect.js';
import { IdentityStore } from '../metadata/identity-store.js';
import { ImageStore } from '../metadata/image-store.js';
import { LifecycleStore, type CurrentManifest, type RepositoryLifecycle } from '../metadata/lifecycle-store.js';
import type { Database } from '../metadata/schema.js';
import { RegistryError } from '../registry/errors.js';
import { evaluateLifecycle } from './evaluate.js';
import { decideUnit, planExpiries } from './plan.js';
import { parseLifecyclePolicy } from './policy.js';
import type { Expiry, LifecycleImage, LifecyclePolicy } from './types.js';

/** One image a run expired (or, in a dry run, would). */
export interface ExpiredImage {
  digest: string;
  tags: string[];
  pushedAt: string;
  rulePriority: number;
  /** Set when it goes only with another image (its index, its subject). */
  withDigest?: string;
  size: number;
}

export interface SkippedImage extends ExpiredImage {
  reason: string;
}

export interface LifecycleReport {
  repository: string;
  dryRun: boolean;
  evaluatedAt: string;
  expired: ExpiredImage[];
  /** Expired by the evaluation but kept at deletion time (changed or deleted meanwhile). */
  skipped: SkippedImage[];
  /** Sum of the expired images' sizes (manifest and referenced blobs; shared blobs count in each). */
  bytes: number;
}

export interface RunOptions {
  dryRun?: boolean;
  /** Evaluate this policy instead of the stored one (previews of a policy not yet put). */
  policy?: LifecyclePolicy;
  now?: Date;
}

export interface RunAllResult {
  reports: LifecycleReport[];
  failures: { repository: string; error: string }[];
}

/** Who the audit trail names for lifecycle expiries, whichever process ran them. */
export const LIFECYCLE_ACTOR = 'wharf:lifecycle';

const PAGE = 1000;

/** A transaction that lost to a concurrent one: PostgreSQL's deadlock or serialization failure, SQLite's busy timeout. */
function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001' || code === 'SQLITE_BUSY';
}

function expiredOf(e: Expiry): ExpiredImage {
  return {
    digest: e.digest,
    tags: e.tags,
    pushedAt: e.pushedAt.toISOString(),
    rulePriority: e.rulePriority,
    ...(e.withDigest !== undefined ? { withDigest: e.withDigest } : {}),
    size: e.size,
  };
}

export class LifecycleRunner {
  private readonly images: ImageStore;
  readonly store: LifecycleStore;

  constructor(
    private readonly connection: Connection,
    /** Runs before images are loaded; the server flushes its batched pull times here. */
    private readonly beforeRun?: () => Promise<void>,
  ) {
    this.images = new ImageStore(connection);
    this.store = new LifecycleStore(connection);
  }

  /** A repository's manifests as the engine sees them. */
  async loadImages(repositoryId: number): Promise<LifecycleImage[]> {
    const out: LifecycleImage[] = [];
    let after: number | undefined;
    for (;;) {
      const rows = await this.images.listImages(repositoryId, 'ANY', after, PAGE);
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.id);
      const tags = await this.images.tagsOf(ids);
      const children = await this.store.childrenOf(ids);
      for (const r of rows) {
        out.push({
          digest: r.digest,
          tags: tags.get(r.id) ?? [],
          pushedAt: new Date(r.pushed_at),
          ...(r.last_pulled_at ? { lastPulledAt: new Date(r.last_pulled_at) } : {}),
          mediaType: r.media_type,
          ...(r.artifact_type ? { artifactType: r.artifact_type } : {}),
          children: children.get(r.id) ?? [],
          ...(r.subject_digest ? { subject: r.subject_digest } : {}),
          size: r.total_size,
        });
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
    return out;
  }

  /**
   * Evaluates the repository's policy (or `opts.policy`) and, unless `dryRun`, expires the result.
   * Throws NAME_UNKNOWN, LIFECYCLE_POLICY_NOT_FOUND, or the engine's LifecyclePolicyError for a
   * stored policy it no longer accepts.
   */
  async run(name: string, opts: RunOptions = {}): Promise<LifecycleReport> {
    const repo = await this.store.getRepository(name);
    if (!repo) throw new RegistryError('NAME_UNKNOWN', `The repository with name '${name}' does not exist`, { name });
    return this.runRepository(repo, opts);
  }

  private async runRepository(repo: RepositoryLifecycle, opts: RunOptions): Promise<LifecycleReport> {
    let policy = opts.policy;
    if (!policy) {
      if (repo.policy === null) throw new RegistryError('LIFECYCLE_POLICY_NOT_FOUND', `The repository with name '${repo.name}' has no lifecycle policy`, { name: repo.name });
      policy = parseLifecyclePolicy(repo.policy);
    }
    const now = opts.now ?? new Date();
    await this.beforeRun?.();
    const images = await this.loadImages(repo.id);
    const byDigest = new Map(images.map((i) => [i.digest, i]));
    const units = planExpiries(evaluateLifecycle(policy, images, now), byDigest);
    const report: LifecycleReport = { repository: repo.name, dryRun: opts.dryRun === true, evaluatedAt: now.toISOString(), expired: [], skipped: [], bytes: 0 };
    for (const unit of units) {
      if (opts.dryRun) {
        report.expired.push(...unit.members.map(expiredOf));
        continue;
      }
      const members = new Map(unit.members.map((m) => [m.digest, m]));
      let decision: ReturnType<typeof decideUnit> | undefined;
      let removed: CurrentManifest[];
      try {
        removed = await this.store.expire(
          repo.id,
          unit.members.map((m) => m.digest),
          (current) => {
            decision = decideUnit(unit, byDigest, current);
            return decision.remove;
          },
          (tx, gone) => this.audit(tx, repo.name, gone, members),
        );
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Rolled back whole: the unit stays for the next run to decide again; the other units go on.
        decision = { remove: [], skipped: new Map(unit.members.map((m) => [m.digest, 'a concurrent change conflicted with the deletion'])) };
        removed = [];
      }
      const removedDigests = new Set(removed.map((m) => m.digest));
      for (const m of unit.members) {
        if (removedDigests.has(m.digest)) report.expired.push(expiredOf(m));
        else report.skipped.push({ ...expiredOf(m), reason: decision?.skipped.get(m.digest) ?? 'already deleted' });
      }
    }
    report.bytes = report.expired.reduce((n, e) => n + e.size, 0);
    return report;
  }

  /** One audit row per expired image, written in the deleting transaction. */
  private async audit(tx: Kysely<Database>, repository: string, gone: CurrentManifest[], members: Map<string, Expiry>): Promise<void> {
    // recordAudit through the transaction, so the rows commit with the deletion or not at all.
    const identity = new IdentityStore({ ...this.connection, db: tx });
    for (const m of gone) {
      const e = members.get(m.digest);
      await identity.recordAudit({
        actor: LIFECYCLE_ACTOR,
        action: 'LifecycleExpire',
        resource: repository,
        outcome: 'success',
        detail: { digest: m.digest, tags: m.tags, rulePriority: e?.rulePriority, ...(e?.withDigest !== undefined ? { withDigest: e.withDigest } : {}) },
      });
    }
  }

  /**
   * Runs every repository that has a policy, in name order. A repository that
   * fails is reported and the others still run.
   */
  async runAll(opts: Omit<RunOptions, 'policy'> = {}): Promise<RunAllResult> {
    const result: RunAllResult = { reports: [], failures: [] };
    let after: string | undefined;
    for (;;) {
      const page = await this.store.listWithPolicy(after, 100);
      for (const repo of page) {
        try {
          result.reports.push(await this.runRepository(repo, opts));
        } catch (err) {
          result.failures.push({ repository: repo.name, error: err instanceof Error ? err.message : String(err) });
        }
      }
      if (page.length < 100) break;
      after = page[page.length - 1]!.name;
    }
    return result;
  }
}

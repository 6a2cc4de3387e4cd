// Lifecycle policies as the ECR API offers them: put, get and delete a repository's policy, and
// previews. A preview is a dry run of the same LifecycleRunner the schedule and the CLI use,
// computed when it is started and kept (one per repository) until the next start.
import { RegistryError } from '../registry/errors.js';
import type { ImageId } from '../registry/images.js';
import type { Repositories } from '../registry/repositories.js';
import type { PreviewStatus } from '../metadata/lifecycle-store.js';
import { LifecyclePolicyError, parseLifecyclePolicy } from './policy.js';
import type { ExpiredImage, LifecycleRunner } from './run.js';
import type { LifecyclePolicy } from './types.js';

export interface StoredPolicy {
  repositoryName: string;
  text: string;
  /** When it was put (ISO). */
  updatedAt: string | null;
}

/** Where a page of preview results ends: the preview it belongs to and the last digest shown. */
export interface PreviewPosition {
  createdAt: string;
  digest: string;
}

export interface PreviewQuery {
  imageIds?: ImageId[];
  tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY';
  after?: PreviewPosition;
  limit: number;
}

export interface PreviewPage {
  status: PreviewStatus;
  policy: string;
  results: ExpiredImage[];
  /** Every image the preview expires, whatever the filter and page. */
  total: number;
  next?: PreviewPosition;
}

/** A preview still IN_PROGRESS after this long belonged to a process that died: it may be replaced, and reads as FAILED. */
export const PREVIEW_STALE_MS = 5 * 60_000;

function invalidToken(): RegistryError {
  return new RegistryError('PARAMETER_INVALID', "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
}

function matches(id: ImageId, e: ExpiredImage): boolean {
  if (id.imageDigest === undefined && id.imageTag === undefined) return false;
  return (id.imageDigest === undefined || id.imageDigest === e.digest) && (id.imageTag === undefined || e.tags.includes(id.imageTag));
}

export class LifecycleService {
  constructor(
    private readonly repositories: Repositories,
    private readonly runner: LifecycleRunner,
  ) {}

  private get registryId(): string {
    return this.repositories.registryId;
  }

  /** The engine's verdict on a policy text; its validation message becomes InvalidParameterException's. */
  parse(text: string): LifecyclePolicy {
    try {
      return parseLifecyclePolicy(text);
    } catch (err) {
      // The engine's ValidationException (the text's length) cannot get here through the API:
      // the model's length check answers it first, with the same words.
      if (err instanceof LifecyclePolicyError) throw new RegistryError('PARAMETER_INVALID', err.message);
      throw err;
    }
  }

  private notFound(name: string): RegistryError {
    return new RegistryError('LIFECYCLE_POLICY_NOT_FOUND', `Lifecycle policy does not exist for the repository with name '${name}' in the registry with id '${this.registryId}'`, { name });
  }

  /** PutLifecyclePolicy: validated by the engine, stored exactly as given. */
  async put(name: string, text: string): Promise<StoredPolicy> {
    const repo = await this.repositories.require(name);
    this.parse(text);
    const now = new Date().toISOString();
    await this.runner.store.putPolicy(repo.id, text, now);
    return { repositoryName: repo.name, text, updatedAt: now };
  }

  async get(name: string): Promise<StoredPolicy> {
    await this.repositories.require(name);
    const row = await this.runner.store.getRepository(name);
    if (!row || row.policy === null) throw this.notFound(name);
    return { repositoryName: row.name, text: row.policy, updatedAt: row.updatedAt };
  }

  /** DeleteLifecyclePolicy: returns the policy it removed. */
  async delete(name: string): Promise<StoredPolicy> {
    const repo = await this.repositories.require(name);
    const gone = await this.runner.store.deletePolicy(repo.id);
    if (!gone) throw this.notFound(name);
    return { repositoryName: repo.name, text: gone.policy, updatedAt: gone.updatedAt };
  }

  /**
   * StartLifecyclePolicyPreview: a dry run of `text` (else the stored policy), computed now and
   * stored as the repository's preview. LifecyclePolicyPreviewInProgressException while another
   * start (any node) is computing one.
   */
  async startPreview(name: string, text: string | undefined): Promise<{ policy: string; status: PreviewStatus }> {
    const repo = await this.repositories.require(name);
    let policyText = text;
    if (policyText === undefined) {
      const row = await this.runner.store.getRepository(name);
      if (!row || row.policy === null) throw this.notFound(name);
      policyText = row.policy;
    }
    const policy = this.parse(policyText);
    const started = new Date();
    const createdAt = started.toISOString();
    if (!(await this.runner.store.claimPreview(repo.id, policyText, createdAt, new Date(started.getTime() - PREVIEW_STALE_MS).toISOString()))) {
      throw new RegistryError(
        'LIFECYCLE_PREVIEW_IN_PROGRESS',
        `The previous lifecycle policy preview request has not completed for the repository with name '${name}' in the registry with id '${this.registryId}'. Wait and try again.`,
        { name },
      );
    }
    try {
      const report = await this.runner.run(name, { dryRun: true, policy, now: started });
      await this.runner.store.finishPreview(repo.id, createdAt, { status: 'COMPLETE', results: JSON.stringify(report.expired) }, new Date().toISOString());
      return { policy: policyText, status: 'COMPLETE' };
    } catch (err) {
      const failure = err instanceof Error ? err.message : String(err);
      await this.runner.store.finishPreview(repo.id, createdAt, { status: 'FAILED', failure }, new Date().toISOString()).catch(() => undefined);
      throw err;
    }
  }

  /** GetLifecyclePolicyPreview: the stored preview, filtered and paged (results in deletion order). */
  async getPreview(name: string, query: PreviewQuery): Promise<PreviewPage> {
    const repo = await this.repositories.require(name);
    const row = await this.runner.store.getPreview(repo.id);
    if (!row) {
      throw new RegistryError('LIFECYCLE_PREVIEW_NOT_FOUND', `Lifecycle policy preview does not exist for the repository with name '${name}' in the registry with id '${this.registryId}'`, { name });
    }
    if (query.after !== undefined && query.after.createdAt !== row.createdAt) throw invalidToken();
    const stale = row.status === 'IN_PROGRESS' && Date.parse(row.updatedAt) < Date.now() - PREVIEW_STALE_MS;
    const status: PreviewStatus = stale ? 'FAILED' : row.status;
    const all = status === 'COMPLETE' && row.results !== null ? (JSON.parse(row.results) as ExpiredImage[]) : [];
    let shown = all;
    if (query.tagStatus === 'TAGGED') shown = shown.filter((e) => e.tags.length > 0);
    if (query.tagStatus === 'UNTAGGED') shown = shown.filter((e) => e.tags.length === 0);
    if (query.imageIds) {
      const ids = query.imageIds;
      shown = shown.filter((e) => ids.some((id) => matches(id, e)));
    }
    let start = 0;
    if (query.after !== undefined) {
      const after = query.after.digest;
      const at = shown.findIndex((e) => e.digest === after);
      if (at < 0) throw invalidToken();
      start = at + 1;
    }
    const results = shown.slice(start, start + query.limit);
    const last = results.at(-1);
    return {
      status,
      policy: row.policy,
      results,
      total: all.length,
      ...(start + query.limit < shown.length && last ? { next: { createdAt: row.createdAt, digest: last.digest } } : {}),
    };
  }
}

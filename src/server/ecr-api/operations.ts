// One handler per ECR operation: JSON input -> domain call -> JSON output, and nothing else.
// Input has already been checked against the ECR model (validate.ts), so its types hold.
import type { FastifyRequest } from 'fastify';
import type { AccessControl, Principal } from '../../auth/access-control.js';
import type { ImageDetail, ImageId, Images } from '../../registry/images.js';
import type { ExpiredImage } from '../../lifecycle/run.js';
import type { LifecycleService, PreviewPosition, StoredPolicy } from '../../lifecycle/service.js';
import { RegistryError } from '../../registry/errors.js';
import type { RepositoryInfo, Repositories, ResourceTag } from '../../registry/repositories.js';
import type { ExclusionFilter } from '../../registry/tag-mutability.js';
import type { PageTokens } from './page-tokens.js';

export interface EcrContext {
  req: FastifyRequest;
  principal: Principal;
  access: AccessControl;
  repositories: Repositories;
  images: Images;
  lifecycle: LifecycleService;
  pages: PageTokens;
  registryId: string;
  /** `http(s)://host:port` as clients reach this server. */
  baseUrl: string;
  /** Throws AccessDeniedException unless the caller may perform `ecr:<action>` on the repository (null: registry-wide). */
  authorize(action: string, repository: string | null): Promise<void>;
  allowed(action: string, repository: string | null): Promise<boolean>;
  /** Records a change in the audit trail. */
  audit(action: string, resource: string, detail?: unknown): Promise<void>;
}

type Output = Record<string, unknown>;

export interface EcrOperation {
  /**
   * The repository the call is authorized on (`ecr:<Operation>`); null for registry-wide
   * operations; absent when the operation authorizes itself (DescribeRepositories).
   */
  resource?: (input: never, ctx: { access: AccessControl }) => string | null;
  run(ctx: EcrContext, input: never): Promise<Output>;
}

function op<I>(spec: { resource?: (input: I, ctx: { access: AccessControl }) => string | null; run: (ctx: EcrContext, input: I) => Promise<Output> }): EcrOperation {
  return spec as EcrOperation;
}

interface RepoInput {
  repositoryName: string;
}

/** Epoch seconds, as the JSON protocol carries timestamps. */
function epoch(iso: string): number {
  return Date.parse(iso) / 1000;
}

function host(ctx: EcrContext): string {
  return ctx.baseUrl.replace(/^[a-z]+:\/\//, '');
}

function repositoryOut(ctx: EcrContext, r: RepositoryInfo): Output {
  return {
    repositoryArn: ctx.access.repositoryArn(r.name),
    registryId: ctx.registryId,
    repositoryName: r.name,
    repositoryUri: `${host(ctx)}/${r.name}`,
    createdAt: epoch(r.createdAt),
    imageTagMutability: r.tagMutability,
    ...(r.exclusions.length > 0 ? { imageTagMutabilityExclusionFilters: r.exclusions } : {}),
    imageScanningConfiguration: { scanOnPush: r.scanOnPush },
    encryptionConfiguration: { encryptionType: r.encryptionType, ...(r.kmsKey !== null ? { kmsKey: r.kmsKey } : {}) },
  };
}

function detailOut(ctx: EcrContext, repositoryName: string, d: ImageDetail): Output {
  const artifact = d.artifact_type ?? d.config_media_type;
  return {
    registryId: ctx.registryId,
    repositoryName,
    imageDigest: d.digest,
    ...(d.tags.length > 0 ? { imageTags: d.tags } : {}),
    imageSizeInBytes: d.imageSize,
    imagePushedAt: epoch(d.pushed_at),
    imageManifestMediaType: d.media_type,
    ...(artifact ? { artifactMediaType: artifact } : {}),
    ...(d.last_pulled_at ? { lastRecordedPullTime: epoch(d.last_pulled_at) } : {}),
    ...(d.subject_digest ? { subjectManifestDigest: d.subject_digest } : {}),
  };
}

function policyOut(ctx: EcrContext, p: StoredPolicy): Output {
  return {
    registryId: ctx.registryId,
    repositoryName: p.repositoryName,
    lifecyclePolicyText: p.text,
    ...(p.updatedAt !== null ? { lastEvaluatedAt: epoch(p.updatedAt) } : {}),
  };
}

function previewResultOut(e: ExpiredImage): Output {
  return {
    ...(e.tags.length > 0 ? { imageTags: e.tags } : {}),
    imageDigest: e.digest,
    imagePushedAt: epoch(e.pushedAt),
    action: { type: 'EXPIRE' },
    appliedRulePriority: e.rulePriority,
  };
}

function previewPosition(value: unknown): PreviewPosition {
  if (isObject(value) && typeof value.createdAt === 'string' && typeof value.digest === 'string') return { createdAt: value.createdAt, digest: value.digest };
  throw new RegistryError('PARAMETER_INVALID', "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
}

function imageIdOut(id: ImageId): Output {
  return { ...(id.imageDigest !== undefined ? { imageDigest: id.imageDigest } : {}), ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) };
}

function failureOut(f: { imageId: ImageId; failureCode: string; failureReason: string }): Output {
  return { imageId: imageIdOut(f.imageId), failureCode: f.failureCode, failureReason: f.failureReason };
}

/** The repository an ECR repository ARN names; only this registry's (account and region). */
function repositoryFromArn(ctx: { access: AccessControl }, arn: string): string {
  const prefix = `arn:aws:ecr:${ctx.access.account.region}:${ctx.access.account.accountId}:repository/`;
  if (!arn.startsWith(prefix) || arn.length === prefix.length) {
    throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN: ${arn.slice(0, 300)} is not a repository of this registry (${prefix}<name>)'`);
  }
  return arn.slice(prefix.length);
}

function noPagingWith(what: string, input: { nextToken?: string; maxResults?: number }): void {
  if (input.nextToken !== undefined || input.maxResults !== undefined) {
    throw new RegistryError('PARAMETER_INVALID', `Invalid parameter: nextToken and maxResults cannot be used together with ${what}`);
  }
}

const DEFAULT_PAGE = 100;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const OPERATIONS: Record<string, EcrOperation> = {
  // ---- repositories

  CreateRepository: op<
    RepoInput & {
      tags?: ResourceTag[];
      imageTagMutability?: string;
      imageTagMutabilityExclusionFilters?: ExclusionFilter[];
      imageScanningConfiguration?: { scanOnPush?: boolean };
      encryptionConfiguration?: { encryptionType: string; kmsKey?: string };
    }
  >({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const repo = await ctx.repositories.create(i.repositoryName, {
        ...(i.imageTagMutability !== undefined ? { tagMutability: i.imageTagMutability } : {}),
        ...(i.imageTagMutabilityExclusionFilters !== undefined ? { exclusions: i.imageTagMutabilityExclusionFilters } : {}),
        ...(i.imageScanningConfiguration?.scanOnPush !== undefined ? { scanOnPush: i.imageScanningConfiguration.scanOnPush } : {}),
        ...(i.encryptionConfiguration !== undefined ? { encryption: i.encryptionConfiguration } : {}),
        ...(i.tags !== undefined ? { tags: i.tags } : {}),
      });
      await ctx.audit('ecr:CreateRepository', ctx.access.repositoryArn(repo.name), { imageTagMutability: repo.tagMutability });
      if (repo.tags.length > 0) ctx.access.invalidate();
      return { repository: repositoryOut(ctx, repo) };
    },
  }),

  DescribeRepositories: op<{ repositoryNames?: string[]; nextToken?: string; maxResults?: number }>({
    async run(ctx, i) {
      if (i.repositoryNames) {
        noPagingWith('repositoryNames', i);
        for (const name of i.repositoryNames) await ctx.authorize('DescribeRepositories', name);
        return { repositories: (await ctx.repositories.describe(i.repositoryNames)).map((r) => repositoryOut(ctx, r)) };
      }
      // Without names: the repositories the caller may describe, as /v2/_catalog lists them.
      const limit = i.maxResults ?? DEFAULT_PAGE;
      const scope = 'DescribeRepositories';
      let after = i.nextToken !== undefined ? ctx.pages.decode(scope, i.nextToken) : undefined;
      if (after !== undefined && typeof after !== 'string') throw new RegistryError('PARAMETER_INVALID', "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
      const out: RepositoryInfo[] = [];
      let more = true;
      while (more && out.length < limit) {
        const page = await ctx.repositories.list(after as string | undefined, Math.max(limit, 100));
        more = page.more;
        for (const [index, repo] of page.items.entries()) {
          after = repo.name;
          if (await ctx.allowed('DescribeRepositories', repo.name)) out.push(repo);
          if (out.length === limit) {
            more = more || index < page.items.length - 1;
            break;
          }
        }
      }
      return {
        repositories: out.map((r) => repositoryOut(ctx, r)),
        ...(more && after !== undefined ? { nextToken: ctx.pages.encode(scope, after) } : {}),
      };
    },
  }),

  DeleteRepository: op<RepoInput & { force?: boolean }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const repo = await ctx.repositories.delete(i.repositoryName, i.force === true);
      ctx.access.invalidate();
      await ctx.audit('ecr:DeleteRepository', ctx.access.repositoryArn(repo.name), { force: i.force === true });
      return { repository: repositoryOut(ctx, repo) };
    },
  }),

  PutImageTagMutability: op<RepoInput & { imageTagMutability: string; imageTagMutabilityExclusionFilters?: ExclusionFilter[] }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const repo = await ctx.repositories.putTagMutability(i.repositoryName, i.imageTagMutability, i.imageTagMutabilityExclusionFilters);
      await ctx.audit('ecr:PutImageTagMutability', ctx.access.repositoryArn(repo.name), { imageTagMutability: repo.tagMutability, exclusions: repo.exclusions });
      return {
        registryId: ctx.registryId,
        repositoryName: repo.name,
        imageTagMutability: repo.tagMutability,
        ...(repo.exclusions.length > 0 ? { imageTagMutabilityExclusionFilters: repo.exclusions } : {}),
      };
    },
  }),

  PutImageScanningConfiguration: op<RepoInput & { imageScanningConfiguration: { scanOnPush?: boolean } }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const repo = await ctx.repositories.putScanOnPush(i.repositoryName, i.imageScanningConfiguration.scanOnPush === true);
      return { registryId: ctx.registryId, repositoryName: repo.name, imageScanningConfiguration: { scanOnPush: repo.scanOnPush } };
    },
  }),

  TagResource: op<{ resourceArn: string; tags: ResourceTag[] }>({
    resource: (i, ctx) => repositoryFromArn(ctx, i.resourceArn),
    async run(ctx, i) {
      const name = repositoryFromArn(ctx, i.resourceArn);
      await ctx.repositories.tag(name, i.tags);
      ctx.access.invalidate();
      await ctx.audit('ecr:TagResource', i.resourceArn, { keys: i.tags.map((t) => t.Key) });
      return {};
    },
  }),

  UntagResource: op<{ resourceArn: string; tagKeys: string[] }>({
    resource: (i, ctx) => repositoryFromArn(ctx, i.resourceArn),
    async run(ctx, i) {
      const name = repositoryFromArn(ctx, i.resourceArn);
      await ctx.repositories.untag(name, i.tagKeys);
      ctx.access.invalidate();
      await ctx.audit('ecr:UntagResource', i.resourceArn, { keys: i.tagKeys });
      return {};
    },
  }),

  ListTagsForResource: op<{ resourceArn: string }>({
    resource: (i, ctx) => repositoryFromArn(ctx, i.resourceArn),
    async run(ctx, i) {
      const repo = await ctx.repositories.require(repositoryFromArn(ctx, i.resourceArn));
      return { tags: repo.tags };
    },
  }),

  SetRepositoryPolicy: op<RepoInput & { policyText: string; force?: boolean }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const repo = await ctx.repositories.setPolicy(i.repositoryName, i.policyText);
      ctx.access.invalidate();
      await ctx.audit('ecr:SetRepositoryPolicy', ctx.access.repositoryArn(repo.name), { document: parsedOrText(i.policyText) });
      return { registryId: ctx.registryId, repositoryName: repo.name, policyText: i.policyText };
    },
  }),

  GetRepositoryPolicy: op<RepoInput>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const policyText = await ctx.repositories.getPolicy(i.repositoryName);
      return { registryId: ctx.registryId, repositoryName: i.repositoryName, policyText };
    },
  }),

  DeleteRepositoryPolicy: op<RepoInput>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const policyText = await ctx.repositories.deletePolicy(i.repositoryName);
      ctx.access.invalidate();
      await ctx.audit('ecr:DeleteRepositoryPolicy', ctx.access.repositoryArn(i.repositoryName));
      return { registryId: ctx.registryId, repositoryName: i.repositoryName, policyText };
    },
  }),

  PutRegistryPolicy: op<{ policyText: string }>({
    resource: () => null,
    async run(ctx, i) {
      await ctx.repositories.putRegistryPolicy(i.policyText);
      ctx.access.invalidate();
      await ctx.audit('ecr:PutRegistryPolicy', 'registry', { document: parsedOrText(i.policyText) });
      return { registryId: ctx.registryId, policyText: i.policyText };
    },
  }),

  GetRegistryPolicy: op<Record<string, never>>({
    resource: () => null,
    async run(ctx) {
      return { registryId: ctx.registryId, policyText: await ctx.repositories.getRegistryPolicy() };
    },
  }),

  DeleteRegistryPolicy: op<Record<string, never>>({
    resource: () => null,
    async run(ctx) {
      const policyText = await ctx.repositories.deleteRegistryPolicy();
      ctx.access.invalidate();
      await ctx.audit('ecr:DeleteRegistryPolicy', 'registry');
      return { registryId: ctx.registryId, policyText };
    },
  }),

  DescribeRegistry: op<Record<string, never>>({
    resource: () => null,
    async run(ctx) {
      // Replication is a later feature: no rules.
      return { registryId: ctx.registryId, replicationConfiguration: { rules: [] } };
    },
  }),

  GetAuthorizationToken: op<{ registryIds?: string[] }>({
    resource: () => null,
    async run(ctx) {
      if (!ctx.principal.userId) throw new RegistryError('DENIED', 'Authorization tokens are issued to users only');
      const { token, expiresAt } = await ctx.access.tokens.issueAuthorizationToken(ctx.principal.userId);
      return {
        authorizationData: [
          { authorizationToken: Buffer.from(`AWS:${token}`).toString('base64'), expiresAt: expiresAt.getTime() / 1000, proxyEndpoint: ctx.baseUrl },
        ],
      };
    },
  }),

  // ---- images

  ListImages: op<RepoInput & { nextToken?: string; maxResults?: number; filter?: { tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY' } }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const status = i.filter?.tagStatus ?? 'ANY';
      const scope = `ListImages|${i.repositoryName}|${status}`;
      const after = i.nextToken !== undefined ? imagePosition(ctx.pages.decode(scope, i.nextToken)) : undefined;
      const page = await ctx.images.listImageIds(i.repositoryName, status, after, i.maxResults ?? DEFAULT_PAGE);
      const last = page.items.at(-1);
      return {
        imageIds: page.items.map((r) => ({ imageDigest: r.digest, ...(r.tag !== null ? { imageTag: r.tag } : {}) })),
        ...(page.more && last ? { nextToken: ctx.pages.encode(scope, { id: last.id, tag: last.tag }) } : {}),
      };
    },
  }),

  DescribeImages: op<RepoInput & { imageIds?: ImageId[]; nextToken?: string; maxResults?: number; filter?: { tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY' } }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      if (i.imageIds) {
        noPagingWith('imageIds', i);
        return { imageDetails: (await ctx.images.describe(i.repositoryName, i.imageIds)).map((d) => detailOut(ctx, i.repositoryName, d)) };
      }
      const status = i.filter?.tagStatus ?? 'ANY';
      const scope = `DescribeImages|${i.repositoryName}|${status}`;
      let afterId: number | undefined;
      if (i.nextToken !== undefined) {
        const position = ctx.pages.decode(scope, i.nextToken);
        if (typeof position !== 'number') throw new RegistryError('PARAMETER_INVALID', "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
        afterId = position;
      }
      const page = await ctx.images.listDetails(i.repositoryName, status, afterId, i.maxResults ?? DEFAULT_PAGE);
      const last = page.items.at(-1);
      return {
        imageDetails: page.items.map((d) => detailOut(ctx, i.repositoryName, d)),
        ...(page.more && last ? { nextToken: ctx.pages.encode(scope, last.id) } : {}),
      };
    },
  }),

  BatchGetImage: op<RepoInput & { imageIds: ImageId[]; acceptedMediaTypes?: string[] }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const { images, failures } = await ctx.images.batchGet(i.repositoryName, i.imageIds, i.acceptedMediaTypes);
      return {
        images: images.map((img) => ({
          registryId: ctx.registryId,
          repositoryName: i.repositoryName,
          imageId: imageIdOut(img.imageId),
          imageManifest: img.manifest.toString('utf8'),
          imageManifestMediaType: img.mediaType,
        })),
        failures: failures.map(failureOut),
      };
    },
  }),

  BatchDeleteImage: op<RepoInput & { imageIds: ImageId[] }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const { deleted, failures } = await ctx.images.batchDelete(i.repositoryName, i.imageIds);
      return { imageIds: deleted.map(imageIdOut), failures: failures.map(failureOut) };
    },
  }),

  PutImage: op<RepoInput & { imageManifest: string; imageManifestMediaType?: string; imageTag?: string; imageDigest?: string }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const stored = await ctx.images.put(i.repositoryName, {
        manifest: i.imageManifest,
        ...(i.imageManifestMediaType !== undefined ? { mediaType: i.imageManifestMediaType } : {}),
        ...(i.imageTag !== undefined ? { tag: i.imageTag } : {}),
        ...(i.imageDigest !== undefined ? { digest: i.imageDigest } : {}),
      });
      return {
        image: {
          registryId: ctx.registryId,
          repositoryName: i.repositoryName,
          imageId: { imageDigest: stored.digest, ...(i.imageTag !== undefined ? { imageTag: i.imageTag } : {}) },
          imageManifest: i.imageManifest,
          imageManifestMediaType: stored.mediaType,
        },
      };
    },
  }),

  BatchCheckLayerAvailability: op<RepoInput & { layerDigests: string[] }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const { layers, failures } = await ctx.images.checkLayers(i.repositoryName, i.layerDigests);
      return {
        layers: layers.map((l) => ({ layerDigest: l.digest, layerAvailability: 'AVAILABLE', layerSize: l.size })),
        failures: failures.map((f) => ({ layerDigest: f.digest, failureCode: f.failureCode, failureReason: f.failureReason })),
      };
    },
  }),

  InitiateLayerUpload: op<RepoInput>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      return await ctx.images.initiateUpload(i.repositoryName);
    },
  }),

  UploadLayerPart: op<RepoInput & { uploadId: string; partFirstByte: number; partLastByte: number; layerPartBlob: string }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const bytes = Buffer.from(i.layerPartBlob, 'base64');
      const lastByteReceived = await ctx.images.uploadPart(i.repositoryName, i.uploadId.toLowerCase(), i.partFirstByte, i.partLastByte, bytes);
      return { registryId: ctx.registryId, repositoryName: i.repositoryName, uploadId: i.uploadId, lastByteReceived };
    },
  }),

  CompleteLayerUpload: op<RepoInput & { uploadId: string; layerDigests: string[] }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const layerDigest = await ctx.images.completeUpload(i.repositoryName, i.uploadId.toLowerCase(), i.layerDigests);
      return { registryId: ctx.registryId, repositoryName: i.repositoryName, uploadId: i.uploadId, layerDigest };
    },
  }),

  GetDownloadUrlForLayer: op<RepoInput & { layerDigest: string }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const layer = await ctx.images.layer(i.repositoryName, i.layerDigest);
      // A URL on this server's /v2 API, carrying a short-lived registry token that can read
      // this one repository (the /v2 gate accepts it as `?token=` on blob GET/HEAD only).
      const { token } = await ctx.access.tokens.issueRegistryToken(ctx.principal.userId ?? 'anonymous', [
        { type: 'repository', name: i.repositoryName, actions: ['pull'] },
      ]);
      return { downloadUrl: `${ctx.baseUrl}/v2/${i.repositoryName}/blobs/${layer.digest}?token=${encodeURIComponent(token)}`, layerDigest: layer.digest };
    },
  }),

  ListImageReferrers: op<RepoInput & { subjectId: { imageDigest: string }; filter?: { artifactTypes?: string[]; artifactStatus?: string }; nextToken?: string; maxResults?: number }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const types = i.filter?.artifactTypes;
      const scope = `ListImageReferrers|${i.repositoryName}|${i.subjectId.imageDigest}|${JSON.stringify(types ?? [])}`;
      let after: string | undefined;
      if (i.nextToken !== undefined) {
        const position = ctx.pages.decode(scope, i.nextToken);
        if (typeof position !== 'string') throw new RegistryError('PARAMETER_INVALID', "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
        after = position;
      }
      // Every referrer is ACTIVE: archiving is not a Wharf feature; asking for other statuses finds none.
      const status = i.filter?.artifactStatus ?? 'ACTIVE';
      if (status !== 'ACTIVE' && status !== 'ANY') return { referrers: [] };
      const page = await ctx.images.referrers(i.repositoryName, i.subjectId.imageDigest, types, after, i.maxResults ?? 50);
      const last = page.items.at(-1);
      return {
        referrers: page.items.map((r) => ({ ...r, artifactStatus: 'ACTIVE' })),
        ...(page.more && last ? { nextToken: ctx.pages.encode(scope, last.digest) } : {}),
      };
    },
  }),

  // ---- lifecycle policies

  PutLifecyclePolicy: op<RepoInput & { lifecyclePolicyText: string }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const stored = await ctx.lifecycle.put(i.repositoryName, i.lifecyclePolicyText);
      await ctx.audit('ecr:PutLifecyclePolicy', ctx.access.repositoryArn(stored.repositoryName), { document: parsedOrText(stored.text) });
      return { registryId: ctx.registryId, repositoryName: stored.repositoryName, lifecyclePolicyText: stored.text };
    },
  }),

  GetLifecyclePolicy: op<RepoInput>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      return policyOut(ctx, await ctx.lifecycle.get(i.repositoryName));
    },
  }),

  DeleteLifecyclePolicy: op<RepoInput>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const gone = await ctx.lifecycle.delete(i.repositoryName);
      await ctx.audit('ecr:DeleteLifecyclePolicy', ctx.access.repositoryArn(gone.repositoryName));
      return policyOut(ctx, gone);
    },
  }),

  StartLifecyclePolicyPreview: op<RepoInput & { lifecyclePolicyText?: string }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      const started = await ctx.lifecycle.startPreview(i.repositoryName, i.lifecyclePolicyText);
      return { registryId: ctx.registryId, repositoryName: i.repositoryName, lifecyclePolicyText: started.policy, status: started.status };
    },
  }),

  GetLifecyclePolicyPreview: op<RepoInput & { imageIds?: ImageId[]; nextToken?: string; maxResults?: number; filter?: { tagStatus?: 'TAGGED' | 'UNTAGGED' | 'ANY' } }>({
    resource: (i) => i.repositoryName,
    async run(ctx, i) {
      if (i.imageIds) noPagingWith('imageIds', i);
      const status = i.filter?.tagStatus ?? 'ANY';
      const scope = `GetLifecyclePolicyPreview|${i.repositoryName}|${status}`;
      const after = i.nextToken !== undefined ? previewPosition(ctx.pages.decode(scope, i.nextToken)) : undefined;
      const page = await ctx.lifecycle.getPreview(i.repositoryName, {
        tagStatus: status,
        limit: i.maxResults ?? DEFAULT_PAGE,
        ...(i.imageIds ? { imageIds: i.imageIds } : {}),
        ...(after ? { after } : {}),
      });
      return {
        registryId: ctx.registryId,
        repositoryName: i.repositoryName,
        lifecyclePolicyText: page.policy,
        status: page.status,
        previewResults: page.results.map(previewResultOut),
        summary: { expiringImageTotalCount: page.total },
        ...(page.next ? { nextToken: ctx.pages.encode(scope, page.next) } : {}),
      };
    },
  }),
};

function imagePosition(value: unknown): { id: number; tag: string | null } {
  if (isObject(value) && typeof value.id === 'number' && (value.tag === null || typeof value.tag === 'string')) return { id: value.id, tag: value.tag };
  throw new RegistryError('PARAMETER_INVALID', "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'");
}

function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Operations of later features. They answer UnsupportedOperationException, naming the feature,
 * until their own issues implement them.
 */
export const LATER_FEATURES: Record<string, string> = {
  StartImageScan: 'image scanning',
  DescribeImageScanFindings: 'image scanning',
  GetRegistryScanningConfiguration: 'image scanning',
  PutRegistryScanningConfiguration: 'image scanning',
  BatchGetRepositoryScanningConfiguration: 'image scanning',
  PutReplicationConfiguration: 'replication',
  DescribeImageReplicationStatus: 'replication',
  CreatePullThroughCacheRule: 'pull-through cache',
  DeletePullThroughCacheRule: 'pull-through cache',
  DescribePullThroughCacheRules: 'pull-through cache',
  UpdatePullThroughCacheRule: 'pull-through cache',
  ValidatePullThroughCacheRule: 'pull-through cache',
  CreateRepositoryCreationTemplate: 'repository creation templates',
  DeleteRepositoryCreationTemplate: 'repository creation templates',
  DescribeRepositoryCreationTemplates: 'repository creation templates',
  UpdateRepositoryCreationTemplate: 'repository creation templates',
  GetSigningConfiguration: 'image signing',
  PutSigningConfiguration: 'image signing',
  DeleteSigningConfiguration: 'image signing',
  DescribeImageSigningStatus: 'image signing',
  GetAccountSetting: 'account settings',
  PutAccountSetting: 'account settings',
  RegisterPullTimeUpdateExclusion: 'pull time update exclusions',
  DeregisterPullTimeUpdateExclusion: 'pull time update exclusions',
  ListPullTimeUpdateExclusions: 'pull time update exclusions',
  UpdateImageStorageClass: 'image archiving',
};

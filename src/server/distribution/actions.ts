import type { V2Route } from './paths.js';

/** Docker token-auth actions, the coarse grain a bearer token carries. */
export type DockerAction = 'pull' | 'push' | 'delete';

export interface RequiredAccess {
  /** The ECR action the request is authorized as (and audited as). */
  action: string;
  /** Any one of these in the token's scope for the repository suffices. */
  scopes: DockerAction[];
}

/**
 * Every /v2 operation, mapped to an ECR action. A (resource, method) pair missing from
 * this table is denied: authorization fails closed. `base` and `catalog` are registry-wide
 * and handled apart (login check; per-repository filtering).
 */
export const V2_ACTIONS: Readonly<Record<Exclude<V2Route['kind'], 'unknown' | 'base' | 'catalog'>, Readonly<Record<string, RequiredAccess>>>> = {
  tags: { GET: { action: 'ecr:ListImages', scopes: ['pull'] } },
  blob: {
    GET: { action: 'ecr:GetDownloadUrlForLayer', scopes: ['pull'] },
    // Pushing clients check for layers with a push-only token too.
    HEAD: { action: 'ecr:BatchCheckLayerAvailability', scopes: ['pull', 'push'] },
    DELETE: { action: 'ecr:BatchDeleteImage', scopes: ['delete'] },
  },
  uploads: { POST: { action: 'ecr:InitiateLayerUpload', scopes: ['push'] } },
  upload: {
    GET: { action: 'ecr:UploadLayerPart', scopes: ['push'] },
    PATCH: { action: 'ecr:UploadLayerPart', scopes: ['push'] },
    PUT: { action: 'ecr:CompleteLayerUpload', scopes: ['push'] },
    DELETE: { action: 'ecr:UploadLayerPart', scopes: ['push'] },
  },
  manifest: {
    GET: { action: 'ecr:BatchGetImage', scopes: ['pull'] },
    HEAD: { action: 'ecr:BatchGetImage', scopes: ['pull', 'push'] },
    PUT: { action: 'ecr:PutImage', scopes: ['push'] },
    DELETE: { action: 'ecr:BatchDeleteImage', scopes: ['delete'] },
  },
  referrers: { GET: { action: 'ecr:ListImageReferrers', scopes: ['pull'] } },
};

/** What a bearer token's docker action stands for, when deciding whether to grant it. */
export const DOCKER_ACTION_MEANS: Readonly<Record<DockerAction, readonly string[]>> = {
  pull: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  push: ['ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'],
  delete: ['ecr:BatchDeleteImage'],
};

/** Cross-repository mounts read from the source repository. */
export const MOUNT_SOURCE_ACTION = 'ecr:GetDownloadUrlForLayer';
export const CATALOG_ACTION = 'ecr:DescribeRepositories';

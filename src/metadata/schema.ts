import type { Generated, Insertable, Selectable } from 'kysely';

/** Timestamps are ISO-8601 UTC strings: portable across SQLite and PostgreSQL and sortable as text. */
export type Timestamp = string;

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: Timestamp;
  /** 'public' lets anonymous clients pull; never push. */
  visibility: Generated<'private' | 'public'>;
  /** The repository policy (IAM JSON), if any. */
  policy: string | null;
  /** JSON object of resource tags (ecr:ResourceTag/* in conditions). */
  resource_tags: string | null;
  /** ECR imageTagMutability: MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION. */
  tag_mutability: Generated<string>;
  /** JSON array of ECR exclusion filters (`[{"filterType":"WILDCARD","filter":"dev-*"}]`), for the *_WITH_EXCLUSION settings. */
  tag_mutability_exclusions: string | null;
  /** ECR imageScanningConfiguration.scanOnPush, 0 or 1. */
  scan_on_push: Generated<number>;
  /** ECR encryptionConfiguration: AES256, KMS or KMS_DSSE, and the KMS key when given. */
  encryption_type: Generated<string>;
  kms_key: string | null;
  /** ECR lifecycle policy text as put, if any. */
  lifecycle_policy: string | null;
  lifecycle_policy_updated_at: Timestamp | null;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: Timestamp;
  /** Last publish or mount of the blob; garbage collection spares it for a grace period after. */
  touched_at: Timestamp | null;
}

/** A blob is visible in a repository only through a link. */
export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: Timestamp;
  /** Last upload, mount or HEAD/GET through the link (refreshed lazily); see BlobsTable.touched_at. */
  touched_at: Timestamp | null;
}

/** A blob being removed from storage by garbage collection (its blobs row already gone). */
export interface BlobDeletionsTable {
  digest: string;
  size: number;
  started_at: Timestamp;
}

/** The latest lifecycle policy preview of a repository. */
export interface LifecyclePreviewsTable {
  repository_id: number;
  /** ECR's LifecyclePolicyPreviewStatus: IN_PROGRESS, COMPLETE, EXPIRED, FAILED. */
  status: string;
  policy: string;
  /** JSON of the preview's results when COMPLETE. */
  results: string | null;
  failure: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ManifestsTable {
  id: Generated<number>;
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  config_media_type: string | null;
  subject_digest: string | null;
  /** JSON of the manifest's top-level annotations, for referrer descriptors. */
  annotations: string | null;
  payload: Buffer;
  size: number;
  /** Payload plus every distinct blob it references (config and layers). */
  total_size: number;
  pushed_at: Timestamp;
  last_pulled_at: Timestamp | null;
}

/** What a manifest points at: kind 'blob' (config, layers) or 'manifest' (index children). */
export interface ManifestReferencesTable {
  manifest_id: number;
  kind: 'blob' | 'manifest';
  digest: string;
}

export interface TagsTable {
  repository_id: number;
  name: string;
  manifest_id: number;
  updated_at: Timestamp;
}

export interface UploadsTable {
  id: string;
  repository_id: number;
  size: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** A writer's lease: set while a process writes a chunk, so no other process writes at once. */
  locked_until: Timestamp | null;
  /** `algorithm:hex` of the first `size` bytes, when the process that acknowledged them knew it. */
  digest: string | null;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  key: string | null;
  /** JSON. */
  payload: string;
  status: 'pending' | 'dead';
  run_at: Timestamp;
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  locked_until: Timestamp | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface UsersTable {
  id: string;
  name: string;
  /** scrypt, self-describing (see auth/secrets.ts); null: no console/password login. */
  password_hash: string | null;
  tags: string | null;
  created_at: Timestamp;
}

export interface GroupsTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
}

export interface PoliciesTable {
  id: string;
  name: string;
  document: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type PrincipalKind = 'user' | 'group';

export interface PolicyAttachmentsTable {
  policy_id: string;
  principal_kind: PrincipalKind;
  principal_id: string;
}

export interface InlinePoliciesTable {
  principal_kind: PrincipalKind;
  principal_id: string;
  name: string;
  document: string;
  updated_at: Timestamp;
}

export interface AccessKeysTable {
  id: string;
  user_id: string;
  secret_encrypted: string;
  status: 'Active' | 'Inactive';
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  at: Timestamp;
  actor: string | null;
  action: string;
  resource: string | null;
  source_ip: string | null;
  outcome: string;
  detail: string | null;
}

export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
  settings: SettingsTable;
  jobs: JobsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  policies: PoliciesTable;
  policy_attachments: PolicyAttachmentsTable;
  inline_policies: InlinePoliciesTable;
  access_keys: AccessKeysTable;
  audit_events: AuditEventsTable;
  blob_deletions: BlobDeletionsTable;
  lifecycle_previews: LifecyclePreviewsTable;
}

export type Repository = Selectable<RepositoriesTable>;
export type ManifestRow = Selectable<ManifestsTable>;
export type NewManifest = Omit<Insertable<ManifestsTable>, 'id' | 'repository_id'>;
export type Upload = Selectable<UploadsTable>;
export type Job = Selectable<JobsTable>;
export type User = Selectable<UsersTable>;
export type AccessKey = Selectable<AccessKeysTable>;

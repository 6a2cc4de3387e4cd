import { parsePolicy, PolicyValidationError } from '../auth/policy/index.js';
import type { IdentityStore } from '../metadata/identity-store.js';
import type { ImageStore, RepositorySettingsPatch } from '../metadata/image-store.js';
import type { Repository } from '../metadata/schema.js';
import { RegistryError } from './errors.js';
import { validateRepositoryName } from './names.js';
import type { Registry } from './registry.js';
import { checkTagMutability, tagMutabilityOf, type ExclusionFilter, type TagMutability } from './tag-mutability.js';

export const ENCRYPTION_TYPES = ['AES256', 'KMS', 'KMS_DSSE'] as const;
export type EncryptionType = (typeof ENCRYPTION_TYPES)[number];

export interface ResourceTag {
  Key: string;
  Value: string;
}

/** A repository and its ECR settings. */
export interface RepositoryInfo {
  id: number;
  name: string;
  createdAt: string;
  tagMutability: TagMutability;
  /** Only for the *_WITH_EXCLUSION settings. */
  exclusions: ExclusionFilter[];
  scanOnPush: boolean;
  encryptionType: EncryptionType;
  kmsKey: string | null;
  tags: ResourceTag[];
  policy: string | null;
}

export interface CreateRepositoryInput {
  tagMutability?: string;
  exclusions?: ExclusionFilter[];
  scanOnPush?: boolean;
  encryption?: { encryptionType: string; kmsKey?: string };
  tags?: ResourceTag[];
}

/** AWS's limits on resource tags. */
export const MAX_RESOURCE_TAGS = 50;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function repositoryNotFound(name: string, registryId: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', `The repository with name '${name}' does not exist in the registry with id '${registryId}'`, { name });
}

/**
 * Repository management as the ECR API offers it: creation with settings, description,
 * deletion, tag mutability, scanning flag, resource tags, repository and registry policies.
 * Pushes (/v2 and PutImage) still create repositories implicitly when configured to.
 */
export class Repositories {
  constructor(
    private readonly store: ImageStore,
    private readonly identity: IdentityStore,
    private readonly registry: Registry,
    /** The account id: ECR's registry id, named in error messages. */
    readonly registryId: string,
  ) {}

  /** The repository, or RepositoryNotFound (NAME_UNKNOWN) with ECR's message. */
  async require(name: string): Promise<RepositoryInfo> {
    validateRepositoryName(name);
    const row = await this.store.getRepository(name);
    if (!row) throw repositoryNotFound(name, this.registryId);
    return infoOf(row);
  }

  async create(name: string, input: CreateRepositoryInput): Promise<RepositoryInfo> {
    validateRepositoryName(name);
    const patch: RepositorySettingsPatch = {};
    const mutability = checkTagMutability(input.tagMutability ?? 'MUTABLE', input.exclusions);
    patch.tag_mutability = mutability.mutability;
    patch.tag_mutability_exclusions = mutability.exclusions.length > 0 ? JSON.stringify(mutability.exclusions) : null;
    patch.scan_on_push = input.scanOnPush ? 1 : 0;
    const encryption = checkEncryption(input.encryption);
    patch.encryption_type = encryption.encryptionType;
    patch.kms_key = encryption.kmsKey;
    if (input.tags && input.tags.length > 0) patch.resource_tags = JSON.stringify(tagObject(mergeTags([], input.tags, name)));
    const row = await this.store.createRepository(name, new Date().toISOString(), patch);
    if (!row) {
      throw new RegistryError('REPOSITORY_ALREADY_EXISTS', `The repository with name '${name}' already exists in the registry with id '${this.registryId}'`, { name });
    }
    return infoOf(row);
  }

  /** Every named repository, in the order given; RepositoryNotFound for the first missing one. */
  async describe(names: string[]): Promise<RepositoryInfo[]> {
    const out: RepositoryInfo[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      out.push(await this.require(name));
    }
    return out;
  }

  /** A page of repositories in name order after `after`; `more` when another page follows. */
  async list(after: string | undefined, limit: number): Promise<{ items: RepositoryInfo[]; more: boolean }> {
    const rows = await this.store.listRepositories(after, limit + 1);
    return { items: rows.slice(0, limit).map(infoOf), more: rows.length > limit };
  }

  /**
   * Deletes a repository: refused while it holds images unless `force`. Its uploads are
   * cancelled (their bytes removed); blob bytes stay for garbage collection.
   */
  async delete(name: string, force: boolean): Promise<RepositoryInfo> {
    const repo = await this.require(name);
    if (!force && (await this.store.countImages(repo.id)) > 0) {
      throw new RegistryError(
        'REPOSITORY_NOT_EMPTY',
        `The repository with name '${name}' in registry with id '${this.registryId}' cannot be deleted because it still contains images`,
        { name },
      );
    }
    for (const id of await this.store.listUploadIds(repo.id)) {
      await this.registry.cancelUpload(name, id).catch((err: unknown) => {
        if (!(err instanceof RegistryError && err.code === 'BLOB_UPLOAD_UNKNOWN')) throw err;
      });
    }
    if (!(await this.store.deleteRepository(repo.id))) throw repositoryNotFound(name, this.registryId);
    return repo;
  }

  async putTagMutability(name: string, mutability: string, exclusions: ExclusionFilter[] | undefined): Promise<RepositoryInfo> {
    const repo = await this.require(name);
    const settings = checkTagMutability(mutability, exclusions);
    await this.store.updateRepository(repo.id, {
      tag_mutability: settings.mutability,
      tag_mutability_exclusions: settings.exclusions.length > 0 ? JSON.stringify(settings.exclusions) : null,
    });
    return { ...repo, tagMutability: settings.mutability, exclusions: settings.exclusions };
  }

  async putScanOnPush(name: string, scanOnPush: boolean): Promise<RepositoryInfo> {
    const repo = await this.require(name);
    await this.store.updateRepository(repo.id, { scan_on_push: scanOnPush ? 1 : 0 });
    return { ...repo, scanOnPush };
  }

  // ---- resource tags

  async tag(name: string, tags: ResourceTag[]): Promise<void> {
    const repo = await this.require(name);
    const merged = mergeTags(repo.tags, tags, name);
    await this.store.updateRepository(repo.id, { resource_tags: JSON.stringify(tagObject(merged)) });
  }

  async untag(name: string, keys: string[]): Promise<void> {
    const repo = await this.require(name);
    for (const key of keys) checkTagKey(key);
    const remaining = repo.tags.filter((t) => !keys.includes(t.Key));
    await this.store.updateRepository(repo.id, { resource_tags: remaining.length > 0 ? JSON.stringify(tagObject(remaining)) : null });
  }

  // ---- policies

  async setPolicy(name: string, text: string): Promise<RepositoryInfo> {
    const repo = await this.require(name);
    checkPolicy(text, 'repository');
    await this.identity.setRepositoryPolicy(name, text);
    return { ...repo, policy: text };
  }

  async getPolicy(name: string): Promise<string> {
    const repo = await this.require(name);
    if (repo.policy === null) throw this.noRepositoryPolicy(name);
    return repo.policy;
  }

  async deletePolicy(name: string): Promise<string> {
    const repo = await this.require(name);
    if (repo.policy === null) throw this.noRepositoryPolicy(name);
    await this.identity.setRepositoryPolicy(name, null);
    return repo.policy;
  }

  private noRepositoryPolicy(name: string): RegistryError {
    return new RegistryError(
      'REPOSITORY_POLICY_NOT_FOUND',
      `Repository policy does not exist for the repository with name '${name}' in the registry with id '${this.registryId}'`,
      { name },
    );
  }

  async putRegistryPolicy(text: string): Promise<void> {
    checkPolicy(text, 'registry');
    await this.identity.setRegistryPolicy(text);
  }

  async getRegistryPolicy(): Promise<string> {
    const text = await this.identity.getRegistryPolicy();
    if (text === null) throw this.noRegistryPolicy();
    return text;
  }

  async deleteRegistryPolicy(): Promise<string> {
    const text = await this.getRegistryPolicy();
    await this.identity.setRegistryPolicy(null);
    return text;
  }

  private noRegistryPolicy(): RegistryError {
    return new RegistryError('REGISTRY_POLICY_NOT_FOUND', `Registry policy does not exist in the registry with id '${this.registryId}'`);
  }
}

function infoOf(row: Repository): RepositoryInfo {
  const mutability = tagMutabilityOf(row);
  const tags = row.resource_tags ? Object.entries(JSON.parse(row.resource_tags) as Record<string, string>).map(([Key, Value]) => ({ Key, Value })) : [];
  return {
    id: Number(row.id),
    name: row.name,
    createdAt: row.created_at,
    tagMutability: mutability.mutability,
    exclusions: mutability.exclusions,
    scanOnPush: Number(row.scan_on_push) === 1,
    encryptionType: (ENCRYPTION_TYPES as readonly string[]).includes(row.encryption_type) ? (row.encryption_type as EncryptionType) : 'AES256',
    kmsKey: row.kms_key,
    tags,
    policy: row.policy,
  };
}

function checkEncryption(input: CreateRepositoryInput['encryption']): { encryptionType: EncryptionType; kmsKey: string | null } {
  if (!input) return { encryptionType: 'AES256', kmsKey: null };
  if (!(ENCRYPTION_TYPES as readonly string[]).includes(input.encryptionType)) {
    throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'encryptionType' failed to satisfy constraint: 'Member must satisfy enum value set: [${ENCRYPTION_TYPES.join(', ')}]'`);
  }
  const encryptionType = input.encryptionType as EncryptionType;
  if (encryptionType === 'AES256' && input.kmsKey !== undefined) {
    throw new RegistryError('PARAMETER_INVALID', "Invalid parameter: kmsKey can only be specified when encryptionType is 'KMS' or 'KMS_DSSE'");
  }
  return { encryptionType, kmsKey: input.kmsKey ?? null };
}

function checkPolicy(text: string, what: 'repository' | 'registry'): void {
  try {
    parsePolicy(text, 'resource');
  } catch (err) {
    if (err instanceof PolicyValidationError) {
      throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid ${what} policy provided': ${err.message}`);
    }
    throw err;
  }
}

function checkTagKey(key: string): void {
  if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key)) {
    throw new RegistryError(
      'RESOURCE_TAG_INVALID',
      `The tag key '${key.slice(0, 140)}' is invalid: use 1 to 128 Unicode letters, digits, white space and _ . : / = + - @`,
    );
  }
  if (key.toLowerCase().startsWith('aws:')) throw new RegistryError('RESOURCE_TAG_INVALID', `The tag key '${key}' is invalid: the prefix 'aws:' is reserved for AWS use`);
}

function checkTagValue(key: string, value: string): void {
  if (value.length > 256 || !TAG_TEXT.test(value)) {
    throw new RegistryError('RESOURCE_TAG_INVALID', `The value of tag '${key}' is invalid: use up to 256 Unicode letters, digits, white space and _ . : / = + - @`);
  }
}

/** Existing tags with `added` applied (a key given again takes the new value), checked against AWS's rules. */
function mergeTags(existing: ResourceTag[], added: ResourceTag[], repository: string): ResourceTag[] {
  const seen = new Set<string>();
  for (const t of added) {
    checkTagKey(t.Key);
    checkTagValue(t.Key, t.Value);
    if (seen.has(t.Key)) throw new RegistryError('RESOURCE_TAG_INVALID', `The tag key '${t.Key}' is given more than once`);
    seen.add(t.Key);
  }
  const out = existing.filter((t) => !seen.has(t.Key)).concat(added.map((t) => ({ Key: t.Key, Value: t.Value })));
  if (out.length > MAX_RESOURCE_TAGS) {
    throw new RegistryError('TOO_MANY_TAGS', `The repository '${repository}' would have ${out.length} tags; a resource can have at most ${MAX_RESOURCE_TAGS}`);
  }
  return out;
}

function tagObject(tags: ResourceTag[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.Key, t.Value]));
}

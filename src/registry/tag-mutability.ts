import { RegistryError } from './errors.js';
import { wildcardMatch } from './wildcard.js';

export { wildcardMatch };

/** ECR's four image tag mutability settings. */
export const TAG_MUTABILITY = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
export type TagMutability = (typeof TAG_MUTABILITY)[number];

export interface ExclusionFilter {
  filterType: 'WILDCARD';
  /** Letters, digits, `.`, `_`, `-`, and `*` for any run of characters. */
  filter: string;
}

export interface TagMutabilitySettings {
  mutability: TagMutability;
  /** Present only with the *_WITH_EXCLUSION settings (1 to 5 filters). */
  exclusions: ExclusionFilter[];
}

const FILTER = /^[0-9a-zA-Z._*-]{1,128}$/;
export const MAX_EXCLUSION_FILTERS = 5;

/**
 * Checks a mutability setting and its exclusion filters as ECR does: the *_WITH_EXCLUSION
 * settings need 1 to 5 filters, the plain ones take none.
 */
export function checkTagMutability(mutability: string, exclusions: readonly ExclusionFilter[] | undefined): TagMutabilitySettings {
  if (!(TAG_MUTABILITY as readonly string[]).includes(mutability)) {
    throw new RegistryError('PARAMETER_INVALID', `Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [${TAG_MUTABILITY.join(', ')}]'`);
  }
  const withExclusion = mutability.endsWith('_WITH_EXCLUSION');
  const filters = exclusions ?? [];
  if (withExclusion && filters.length === 0) {
    throw new RegistryError('PARAMETER_INVALID', `Invalid parameter: imageTagMutabilityExclusionFilters are required when imageTagMutability is ${mutability}`);
  }
  if (!withExclusion && filters.length > 0) {
    throw new RegistryError(
      'PARAMETER_INVALID',
      `Invalid parameter: imageTagMutabilityExclusionFilters can only be given with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not ${mutability}`,
    );
  }
  if (filters.length > MAX_EXCLUSION_FILTERS) {
    throw new RegistryError('PARAMETER_INVALID', `Invalid parameter: at most ${MAX_EXCLUSION_FILTERS} imageTagMutabilityExclusionFilters are allowed`);
  }
  for (const f of filters) {
    if (f.filterType !== 'WILDCARD' || !FILTER.test(f.filter)) {
      throw new RegistryError('PARAMETER_INVALID', `Invalid parameter: exclusion filter '${String(f.filter).slice(0, 140)}' must be a WILDCARD of letters, digits, '.', '_', '-' and '*'`);
    }
  }
  return { mutability: mutability as TagMutability, exclusions: filters.map((f) => ({ filterType: 'WILDCARD', filter: f.filter })) };
}

/** The stored form of a repository's settings (the repositories row's columns). */
export function tagMutabilityOf(row: { tag_mutability: string; tag_mutability_exclusions: string | null }): TagMutabilitySettings {
  const mutability = (TAG_MUTABILITY as readonly string[]).includes(row.tag_mutability) ? (row.tag_mutability as TagMutability) : 'MUTABLE';
  let exclusions: ExclusionFilter[] = [];
  if (row.tag_mutability_exclusions) {
    try {
      exclusions = JSON.parse(row.tag_mutability_exclusions) as ExclusionFilter[];
    } catch {
      exclusions = [];
    }
  }
  return { mutability, exclusions };
}

/**
 * Whether an existing tag may not be moved to another manifest: every tag in an IMMUTABLE
 * repository; in IMMUTABLE_WITH_EXCLUSION, tags matching no filter; in MUTABLE_WITH_EXCLUSION,
 * tags matching a filter.
 */
export function isTagImmutable(settings: TagMutabilitySettings, tag: string): boolean {
  const matches = () => settings.exclusions.some((f) => wildcardMatch(f.filter, tag));
  switch (settings.mutability) {
    case 'MUTABLE':
      return false;
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !matches();
    case 'MUTABLE_WITH_EXCLUSION':
      return matches();
  }
}

export function immutableTagMessage(repository: string, tag: string): string {
  return `The image tag '${tag}' already exists in the '${repository}' repository and cannot be overwritten because the tag is immutable.`;
}

/** Removing a tag that may not move would let the next push re-point it: refused like an overwrite. */
export function immutableTagDeleteMessage(repository: string, tag: string): string {
  return `The image tag '${tag}' in the '${repository}' repository cannot be removed on its own because the tag is immutable. Delete the image by digest instead.`;
}

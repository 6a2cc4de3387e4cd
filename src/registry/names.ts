import { RegistryError } from './errors.js';

// OCI distribution-spec grammar for <name> and <reference>.
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** Docker's limit on a full name; the spec suggests clients keep host + name under 255. */
export const MAX_NAME_LENGTH = 255;

export function validateRepositoryName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME.test(name)) {
    throw new RegistryError('NAME_INVALID', 'invalid repository name', { name: name.slice(0, 300) });
  }
  return name;
}

export function validateTag(tag: string): string {
  if (!TAG.test(tag)) throw new RegistryError('TAG_INVALID', 'invalid tag', { tag: tag.slice(0, 300) });
  return tag;
}

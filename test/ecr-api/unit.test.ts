// The model-driven validator, tag mutability rules and page tokens, without a server.
import { describe, expect, it } from 'vitest';
import { EcrApiError } from '../../src/ecr-api/errors.js';
import { MODEL } from '../../src/ecr-api/model.js';
import { parseBody, validateInput } from '../../src/ecr-api/validate.js';
import { RegistryError } from '../../src/registry/errors.js';
import { checkTagMutability, isTagImmutable, wildcardMatch } from '../../src/registry/tag-mutability.js';
import { LATER_FEATURES, OPERATIONS } from '../../src/server/ecr-api/operations.js';
import { PageTokens } from '../../src/server/ecr-api/page-tokens.js';

function errorOf(fn: () => unknown): EcrApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EcrApiError) return err;
    throw err;
  }
  throw new Error('expected an EcrApiError');
}

describe('the ECR model', () => {
  it('has all 58 operations of botocore, with shapes and no documentation', () => {
    expect(Object.keys(MODEL.operations)).toHaveLength(58);
    expect(MODEL.metadata.targetPrefix).toBe('AmazonEC2ContainerRegistry_V20150921');
    expect(MODEL.shapes.RepositoryName).toMatchObject({ type: 'string', min: 2, max: 256 });
    expect(MODEL.shapes.ServerException).toMatchObject({ exception: true, httpStatusCode: 500 });
    expect(MODEL.shapes.RepositoryNotFoundException).toMatchObject({ exception: true, httpStatusCode: 400 });
    expect(JSON.stringify(MODEL.shapes)).not.toContain('"documentation"');
  });

  it('every operation is either implemented or answered as a later feature', () => {
    for (const name of Object.keys(MODEL.operations)) {
      expect(Object.hasOwn(OPERATIONS, name) !== Object.hasOwn(LATER_FEATURES, name), name).toBe(true);
    }
    expect(Object.keys(OPERATIONS)).toHaveLength(32);
  });

  it('every pattern compiles as a JavaScript regular expression', () => {
    for (const [name, s] of Object.entries(MODEL.shapes)) {
      if (s.pattern) expect(() => new RegExp(`^(?:${s.pattern})$`), name).not.toThrow();
    }
  });
});

describe('validateInput', () => {
  it('reports a missing required member in AWS words', () => {
    const err = errorOf(() => validateInput('CreateRepository', {}));
    expect(err.type).toBe('ValidationException');
    expect(err.status).toBe(400);
    expect(err.message).toBe("1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null");
  });

  it('lists several violations, numbered list members and all', () => {
    const err = errorOf(() => validateInput('BatchGetImage', { repositoryName: 'A', imageIds: [{ imageTag: '' }] }));
    expect(err.message).toBe(
      "3 validation errors detected: Value 'A' at 'repositoryName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
        "Value 'A' at 'repositoryName' failed to satisfy constraint: Member must satisfy regular expression pattern: " +
        MODEL.shapes.RepositoryName!.pattern +
        "; Value '' at 'imageIds.1.member.imageTag' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  it('checks enums, integer ranges and list lengths', () => {
    expect(errorOf(() => validateInput('CreateRepository', { repositoryName: 'ab', imageTagMutability: 'SOMETIMES' })).message).toBe(
      "1 validation error detected: Value 'SOMETIMES' at 'imageTagMutability' failed to satisfy constraint: Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]",
    );
    expect(errorOf(() => validateInput('ListImages', { repositoryName: 'ab', maxResults: 1001 })).message).toContain(
      "Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    expect(errorOf(() => validateInput('ListImages', { repositoryName: 'ab', maxResults: 0 })).message).toContain('Member must have value greater than or equal to 1');
    expect(errorOf(() => validateInput('BatchDeleteImage', { repositoryName: 'ab', imageIds: [] })).message).toBe(
      "1 validation error detected: Value '[]' at 'imageIds' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    const many = Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` }));
    expect(errorOf(() => validateInput('BatchDeleteImage', { repositoryName: 'ab', imageIds: many })).message).toContain('Member must have length less than or equal to 100');
  });

  it('applies patterns to the whole value and checks nested structures', () => {
    expect(() => validateInput('CreateRepository', { repositoryName: 'team/app' })).not.toThrow();
    expect(errorOf(() => validateInput('CreateRepository', { repositoryName: 'team/App' })).message).toContain('Member must satisfy regular expression pattern');
    expect(errorOf(() => validateInput('CreateRepository', { repositoryName: 'ab', registryId: '1234567890123' })).message).toContain("at 'registryId'");
    const err = errorOf(() =>
      validateInput('CreateRepository', { repositoryName: 'ab', encryptionConfiguration: {}, imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'a b' }] }),
    );
    expect(err.message).toContain("Value null at 'encryptionConfiguration.encryptionType' failed to satisfy constraint: Member must not be null");
    expect(err.message).toContain("Value 'a b' at 'imageTagMutabilityExclusionFilters.1.member.filter' failed to satisfy constraint");
  });

  it('ignores unknown members and treats null as absent', () => {
    expect(() => validateInput('DescribeRepositories', { somethingNew: 1, maxResults: null })).not.toThrow();
  });

  it('answers SerializationException for values of the wrong JSON type', () => {
    expect(errorOf(() => validateInput('CreateRepository', { repositoryName: 42 })).type).toBe('SerializationException');
    expect(errorOf(() => validateInput('ListImages', { repositoryName: 'ab', maxResults: '10' })).type).toBe('SerializationException');
    expect(errorOf(() => validateInput('ListImages', { repositoryName: 'ab', maxResults: 1.5 })).type).toBe('SerializationException');
    expect(errorOf(() => validateInput('DeleteRepository', { repositoryName: 'ab', force: 'yes' })).type).toBe('SerializationException');
    expect(errorOf(() => validateInput('BatchGetImage', { repositoryName: 'ab', imageIds: {} })).type).toBe('SerializationException');
    expect(errorOf(() => validateInput('UploadLayerPart', { repositoryName: 'ab', uploadId: 'x', partFirstByte: 0, partLastByte: 0, layerPartBlob: '***' })).type).toBe(
      'SerializationException',
    );
    expect(errorOf(() => parseBody('{')).type).toBe('SerializationException');
    expect(errorOf(() => parseBody('[1]')).type).toBe('SerializationException');
    expect(parseBody('')).toEqual({});
  });

  it('measures blobs by their decoded length', () => {
    const ok = { repositoryName: 'ab', uploadId: '00000000-0000-0000-0000-000000000000', partFirstByte: 0, partLastByte: 2, layerPartBlob: Buffer.from('abc').toString('base64') };
    expect(() => validateInput('UploadLayerPart', ok)).not.toThrow();
  });
});

describe('tag mutability', () => {
  it('matches wildcards against the whole tag', () => {
    expect(wildcardMatch('dev-*', 'dev-1')).toBe(true);
    expect(wildcardMatch('dev-*', 'dev-')).toBe(true);
    expect(wildcardMatch('dev-*', 'prod-dev-1')).toBe(false);
    expect(wildcardMatch('*-rc*', 'v1-rc2')).toBe(true);
    expect(wildcardMatch('v1.0', 'v1x0')).toBe(false);
    expect(wildcardMatch('latest', 'latest')).toBe(true);
    expect(wildcardMatch('*', '')).toBe(true);
    expect(wildcardMatch('a*b*c', 'abc')).toBe(true);
    expect(wildcardMatch('a*b*c', 'acb')).toBe(false);
  });

  it('matches a hostile filter against a long tag without backtracking (a regex would hang here)', () => {
    const filter = `${'*a'.repeat(60)}*b`; // 121 characters, valid as an exclusion filter
    expect(wildcardMatch(filter, 'a'.repeat(128))).toBe(false);
    expect(wildcardMatch(filter, `${'a'.repeat(127)}b`)).toBe(true);
    expect(checkTagMutability('IMMUTABLE_WITH_EXCLUSION', [{ filterType: 'WILDCARD', filter }]).exclusions).toHaveLength(1);
  });

  it('decides which tags are immutable under each setting', () => {
    const filters = [{ filterType: 'WILDCARD' as const, filter: 'dev-*' }];
    expect(isTagImmutable({ mutability: 'MUTABLE', exclusions: [] }, 'v1')).toBe(false);
    expect(isTagImmutable({ mutability: 'IMMUTABLE', exclusions: [] }, 'v1')).toBe(true);
    expect(isTagImmutable({ mutability: 'IMMUTABLE_WITH_EXCLUSION', exclusions: filters }, 'v1')).toBe(true);
    expect(isTagImmutable({ mutability: 'IMMUTABLE_WITH_EXCLUSION', exclusions: filters }, 'dev-7')).toBe(false);
    expect(isTagImmutable({ mutability: 'MUTABLE_WITH_EXCLUSION', exclusions: filters }, 'v1')).toBe(false);
    expect(isTagImmutable({ mutability: 'MUTABLE_WITH_EXCLUSION', exclusions: filters }, 'dev-7')).toBe(true);
  });

  it('requires filters exactly with the *_WITH_EXCLUSION settings', () => {
    expect(() => checkTagMutability('IMMUTABLE_WITH_EXCLUSION', [])).toThrow(/required/);
    expect(() => checkTagMutability('IMMUTABLE', [{ filterType: 'WILDCARD', filter: 'x' }])).toThrow(/can only be given/);
    expect(checkTagMutability('MUTABLE_WITH_EXCLUSION', [{ filterType: 'WILDCARD', filter: 'x*' }]).exclusions).toHaveLength(1);
  });
});

describe('page tokens', () => {
  const pages = new PageTokens(Buffer.alloc(32, 7));
  it('round-trip a position for the same request only', () => {
    const token = pages.encode('ListImages|team/app|ANY', { id: 5, tag: 'v1' });
    expect(pages.decode('ListImages|team/app|ANY', token)).toEqual({ id: 5, tag: 'v1' });
    expect(() => pages.decode('ListImages|team/other|ANY', token)).toThrow(RegistryError);
  });
  it('refuse altered and made-up tokens', () => {
    const token = pages.encode('s', 'after-this');
    const forged = `${Buffer.from(JSON.stringify({ s: 's', p: 'zzz' })).toString('base64url')}.${token.split('.')[1]}`;
    for (const bad of [forged, `${token}x`, 'nonsense', '', '.']) expect(() => pages.decode('s', bad), bad).toThrow(/Invalid NextToken/);
    expect(() => new PageTokens(Buffer.alloc(32, 8)).decode('s', token)).toThrow(/Invalid NextToken/);
  });
});

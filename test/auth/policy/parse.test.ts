import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyValidationError, type PolicyKind } from '../../../src/auth/policy/index.js';

const ok = { Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' };
const okResource = { Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' };

function doc(statement: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { Version: '2012-10-17', Statement: statement, ...extra };
}

function errorOf(input: string | object, kind: PolicyKind): PolicyValidationError {
  try {
    parsePolicy(input, kind);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyValidationError);
    return err as PolicyValidationError;
  }
  throw new Error('expected a PolicyValidationError');
}

// [case, document, kind, expected path, expected message fragment]
const MALFORMED: [string, string | object, PolicyKind, string, string | RegExp][] = [
  ['invalid JSON', '{"Version": "2012-10-17", ', 'identity', '', 'Syntax errors in policy'],
  ['a JSON array', '[]', 'identity', '', 'must be a JSON object, not an array'],
  ['a JSON string', '"policy"', 'identity', '', 'must be a JSON object'],
  ['an unknown top-level key', doc([ok], { Foo: 1 }), 'identity', 'Foo', 'is not a valid top-level element (expected one of Version, Id, Statement)'],
  ['a miscased top-level key', { version: '2012-10-17', Statement: [ok] }, 'identity', 'version', 'did you mean "Version"?'],
  ['an unsupported Version', doc([ok], { Version: '2020-01-01' }), 'identity', 'Version', '"2020-01-01" is not supported'],
  ['a numeric Version', doc([ok], { Version: 2012 }), 'identity', 'Version', 'number 2012 is not supported'],
  ['a non-string Id', doc([ok], { Id: 7 }), 'identity', 'Id', 'must be a string'],
  ['a missing Statement', { Version: '2012-10-17' }, 'identity', 'Statement', 'is required'],
  ['an empty Statement list', doc([]), 'identity', 'Statement', 'at least one statement'],
  ['a string Statement', doc('Allow everything'), 'identity', 'Statement', 'must be an object or an array of objects'],
  ['a non-object statement', doc([ok, 'x']), 'identity', 'Statement[1]', 'must be an object, not string'],
  ['a missing Effect', doc([ok, { Action: '*', Resource: '*' }]), 'identity', 'Statement[1].Effect', 'is required and must be "Allow" or "Deny"'],
  ['a lower-case Effect', doc([ok, { ...ok, Effect: 'allow' }]), 'identity', 'Statement[1].Effect', 'must be "Allow" or "Deny", not "allow"'],
  ['an unknown Effect', doc([{ ...ok, Effect: 'Permit' }]), 'identity', 'Statement[0].Effect', 'must be "Allow" or "Deny"'],
  ['an unknown statement key', doc([{ ...ok, Resources: '*' }]), 'identity', 'Statement[0].Resources', 'is not a valid statement element'],
  ['a miscased statement key', doc([{ effect: 'Allow', Action: '*', Resource: '*' }]), 'identity', 'Statement[0].effect', 'did you mean "Effect"?'],
  ['Action with NotAction', doc([{ ...ok, NotAction: 'ecr:PutImage' }]), 'identity', 'Statement[0]', 'must not contain both Action and NotAction'],
  ['neither Action nor NotAction', doc([{ Effect: 'Allow', Resource: '*' }]), 'identity', 'Statement[0]', 'must contain Action or NotAction'],
  ['Resource with NotResource', doc([{ ...ok, NotResource: '*' }]), 'identity', 'Statement[0]', 'must not contain both Resource and NotResource'],
  ['an identity statement without Resource', doc([{ Effect: 'Allow', Action: '*' }]), 'identity', 'Statement[0]', 'must contain Resource or NotResource'],
  ['an empty Action list', doc([{ ...ok, Action: [] }]), 'identity', 'Statement[0].Action', 'must not be an empty list'],
  ['a non-string action', doc([{ ...ok, Action: ['ecr:PutImage', 3] }]), 'identity', 'Statement[0].Action[1]', 'must be a string, not number 3'],
  ['an action without a service prefix', doc([{ ...ok, Action: 'BatchGetImage' }]), 'identity', 'Statement[0].Action', 'actions must be prefaced by a service prefix'],
  ['an empty action', doc([{ ...ok, Action: ['ecr:PutImage', ''] }]), 'identity', 'Statement[0].Action[1]', 'must not be empty'],
  ['a NotAction without a service prefix', doc([{ Effect: 'Deny', NotAction: 'Get*', Resource: '*' }]), 'identity', 'Statement[0].NotAction', 'must be "*" or "<service>:<action>"'],
  ['a Resource that is not an ARN', doc([{ ...ok, Resource: 'repository/app' }]), 'identity', 'Statement[0].Resource', 'must be in ARN format'],
  ['a truncated ARN', doc([{ ...ok, Resource: ['*', 'arn:aws:ecr'] }]), 'identity', 'Statement[0].Resource[1]', 'must be in ARN format'],
  ['Principal in an identity policy', doc([{ ...ok, Principal: '*' }]), 'identity', 'Statement[0].Principal', 'is not allowed in an identity-based policy'],
  ['NotPrincipal in an identity policy', doc([{ ...ok, NotPrincipal: { AWS: '123456789012' } }]), 'identity', 'Statement[0].NotPrincipal', 'is not allowed in an identity-based policy'],
  ['a resource statement without Principal', doc([{ Effect: 'Allow', Action: '*' }]), 'resource', 'Statement[0]', 'must contain Principal or NotPrincipal in a resource-based policy'],
  ['Principal with NotPrincipal', doc([{ ...okResource, NotPrincipal: { AWS: '123456789012' } }]), 'resource', 'Statement[0]', 'must not contain both Principal and NotPrincipal'],
  ['a bare account id as Principal', doc([{ ...okResource, Principal: '123456789012' }]), 'resource', 'Statement[0].Principal', 'must be "*" or an object'],
  ['a partial wildcard principal', doc([{ ...okResource, Principal: { AWS: 'arn:aws:iam::123456789012:user/*' } }]), 'resource', 'Statement[0].Principal.AWS', 'Invalid principal in policy'],
  ['a user name as principal', doc([{ ...okResource, Principal: { AWS: ['123456789012', 'bob'] } }]), 'resource', 'Statement[0].Principal.AWS[1]', 'Invalid principal in policy: "bob"'],
  ['a short account id', doc([{ ...okResource, Principal: { AWS: '12345' } }]), 'resource', 'Statement[0].Principal.AWS', 'Invalid principal'],
  ['an unknown principal type', doc([{ ...okResource, Principal: { Group: 'admins' } }]), 'resource', 'Statement[0].Principal.Group', 'is not a valid principal type element'],
  ['a miscased principal type', doc([{ ...okResource, Principal: { aws: '*' } }]), 'resource', 'Statement[0].Principal.aws', 'did you mean "AWS"?'],
  ['a CanonicalUser principal', doc([{ ...okResource, Principal: { CanonicalUser: 'abc' } }]), 'resource', 'Statement[0].Principal.CanonicalUser', 'not supported'],
  ['an empty principal object', doc([{ ...okResource, Principal: {} }]), 'resource', 'Statement[0].Principal', 'at least one principal'],
  ['a malformed service principal', doc([{ ...okResource, Principal: { Service: 'code build' } }]), 'resource', 'Statement[0].Principal.Service', 'is not a service principal'],
  ['a non-object Condition', doc([{ ...ok, Condition: 'StringEquals' }]), 'identity', 'Statement[0].Condition', 'must be an object'],
  ['an invalid condition operator', doc([{ ...ok, Condition: { StringEqual: { 'aws:username': 'a' } } }]), 'identity', 'Statement[0].Condition.StringEqual', 'is not a valid condition operator'],
  ['an unknown set operator', doc([{ ...ok, Condition: { 'ForSomeValues:StringEquals': { 'aws:TagKeys': 'a' } } }]), 'identity', 'Statement[0].Condition.ForSomeValues:StringEquals', 'the only set operators are ForAnyValue: and ForAllValues:'],
  ['Null with IfExists', doc([{ ...ok, Condition: { NullIfExists: { 'aws:TokenIssueTime': 'true' } } }]), 'identity', 'Statement[0].Condition.NullIfExists', 'Null cannot take the IfExists suffix'],
  ['Null with a set operator', doc([{ ...ok, Condition: { 'ForAnyValue:Null': { 'aws:TagKeys': 'true' } } }]), 'identity', 'Statement[0].Condition.ForAnyValue:Null', 'cannot take the ForAnyValue: prefix'],
  ['an operator block that is not an object', doc([{ ...ok, Condition: { StringEquals: ['a'] } }]), 'identity', 'Statement[0].Condition.StringEquals', 'must be an object mapping condition keys'],
  ['an empty operator block', doc([{ ...ok, Condition: { StringEquals: {} } }]), 'identity', 'Statement[0].Condition.StringEquals', 'at least one condition key'],
  ['a condition key without a prefix', doc([{ ...ok, Condition: { StringEquals: { username: 'a' } } }]), 'identity', 'Statement[0].Condition.StringEquals["username"]', 'must be prefaced by a service prefix'],
  ['an object condition value', doc([{ ...ok, Condition: { StringEquals: { 'aws:username': { a: 1 } } } }]), 'identity', 'Statement[0].Condition.StringEquals["aws:username"]', 'must be a string, number or boolean'],
  ['a null condition value in a list', doc([{ ...ok, Condition: { StringEquals: { 'aws:username': ['a', null] } } }]), 'identity', 'Statement[0].Condition.StringEquals["aws:username"][1]', 'not null'],
  ['an empty condition value list', doc([{ ...ok, Condition: { StringEquals: { 'aws:username': [] } } }]), 'identity', 'Statement[0].Condition.StringEquals["aws:username"]', 'at least one value'],
  ['a non-numeric Numeric value', doc([{ ...ok, Condition: { NumericLessThan: { 's3:max-keys': 'ten' } } }]), 'identity', 'Statement[0].Condition.NumericLessThan["s3:max-keys"]', 'must be a number'],
  ['a policy variable in a Numeric value', doc([{ ...ok, Condition: { NumericEquals: { 'ecr:x': '${aws:userid}' } } }]), 'identity', 'Statement[0].Condition.NumericEquals["ecr:x"]', 'must be a number'],
  ['an unreadable date', doc([{ ...ok, Condition: { DateLessThan: { 'aws:CurrentTime': 'yesterday' } } }]), 'identity', 'Statement[0].Condition.DateLessThan["aws:CurrentTime"]', 'ISO 8601 date or epoch seconds'],
  ['an impossible date', doc([{ ...ok, Condition: { DateLessThan: { 'aws:CurrentTime': '2023-02-30T00:00:00Z' } } }]), 'identity', 'Statement[0].Condition.DateLessThan["aws:CurrentTime"]', 'ISO 8601'],
  ['a Bool that is not true or false', doc([{ ...ok, Condition: { Bool: { 'aws:SecureTransport': 'yes' } } }]), 'identity', 'Statement[0].Condition.Bool["aws:SecureTransport"]', 'must be "true" or "false"'],
  ['an invalid IPv4 range', doc([{ ...ok, Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '300.1.1.1/24'] } } }]), 'identity', 'Statement[0].Condition.IpAddress["aws:SourceIp"][1]', 'IPv4 or IPv6 address or CIDR'],
  ['an IPv4 prefix over 32', doc([{ ...ok, Condition: { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } }]), 'identity', 'Statement[0].Condition.NotIpAddress["aws:SourceIp"]', 'CIDR'],
  ['an IPv6 prefix over 128', doc([{ ...ok, Condition: { IpAddress: { 'aws:SourceIp': '2001:db8::/129' } } }]), 'identity', 'Statement[0].Condition.IpAddress["aws:SourceIp"]', 'CIDR'],
  ['a BinaryEquals value that is not base64', doc([{ ...ok, Condition: { BinaryEquals: { 'ecr:x': 'not base64!' } } }]), 'identity', 'Statement[0].Condition.BinaryEquals["ecr:x"]', 'must be base64'],
  ['a Null value that is not true or false', doc([{ ...ok, Condition: { Null: { 'aws:TokenIssueTime': 'maybe' } } }]), 'identity', 'Statement[0].Condition.Null["aws:TokenIssueTime"]', 'must be "true" or "false" for Null'],
  ['a non-string Sid', doc([{ ...ok, Sid: 1 }]), 'identity', 'Statement[0].Sid', 'must be a string'],
  ['a Sid with a space in an identity policy', doc([{ ...ok, Sid: 'Allow pull' }]), 'identity', 'Statement[0].Sid', 'only ASCII letters and digits'],
  ['a duplicate Sid', doc([{ ...ok, Sid: 'A' }, { ...ok, Sid: 'B' }, { ...ok, Sid: 'A' }]), 'identity', 'Statement[2].Sid', 'duplicates Statement[0].Sid'],
  ['a single-statement document', doc({ ...ok, Effect: 'Maybe' }), 'identity', 'Statement.Effect', 'must be "Allow" or "Deny"'],
];

describe('parsePolicy rejects malformed documents', () => {
  it.each(MALFORMED)('%s', (_name, input, kind, path, message) => {
    const err = errorOf(input, kind);
    expect(err.path).toBe(path);
    expect(err.message.startsWith('MalformedPolicyDocument: ')).toBe(true);
    if (typeof message === 'string') expect(err.message).toContain(message);
    else expect(err.message).toMatch(message);
    expect(err.code).toBe('MalformedPolicyDocument');
  });

  it('words messages as path, then problem', () => {
    const err = errorOf(doc([ok, { ...ok, Effect: 'Permit' }]), 'identity');
    expect(err.message).toBe('MalformedPolicyDocument: Statement[1].Effect must be "Allow" or "Deny", not "Permit"');
  });
});

describe('parsePolicy accepts valid documents', () => {
  it('compiles an identity policy from JSON text', () => {
    const p = parsePolicy(JSON.stringify(doc([{ Sid: 'Pull', ...ok }])), 'identity');
    expect(p.kind).toBe('identity');
    expect(p.version).toBe('2012-10-17');
    expect(p.statements).toHaveLength(1);
    expect(p.statements[0]!.sid).toBe('Pull');
    expect(p.statements[0]!.effect).toBe('Allow');
  });

  it('accepts Version 2008-10-17', () => {
    expect(parsePolicy(doc([ok], { Version: '2008-10-17' }), 'identity').version).toBe('2008-10-17');
  });

  it('reads a document without Version as 2008-10-17, as IAM does', () => {
    expect(parsePolicy({ Statement: ok }, 'identity').version).toBe('2008-10-17');
  });

  it('keeps Id and the name given', () => {
    const p = parsePolicy(doc([okResource], { Id: 'ECRPolicyId1' }), 'resource', { name: 'repository/team/app' });
    expect(p.id).toBe('ECRPolicyId1');
    expect(p.name).toBe('repository/team/app');
  });

  it('accepts a single statement object', () => {
    const p = parsePolicy(doc(ok), 'identity');
    expect(p.statements[0]!.path).toBe('Statement');
  });

  it('lets a resource-based statement omit Resource, as ECR repository policies do', () => {
    const p = parsePolicy(doc([okResource]), 'resource');
    expect(p.statements[0]!.resource).toBeUndefined();
  });

  it('allows any Sid text in a resource-based policy', () => {
    expect(parsePolicy(doc([{ ...okResource, Sid: 'Allow pull for CI' }]), 'resource').statements[0]!.sid).toBe('Allow pull for CI');
  });

  it('accepts condition operators in any case, with IfExists and set prefixes', () => {
    const p = parsePolicy(
      doc([{ ...ok, Condition: { stringequals: { 'aws:username': 'a' }, 'forAnyValue:StringLikeIfExists': { 'aws:TagKeys': 'team*' } } }]),
      'identity',
    );
    const [a, b] = p.statements[0]!.conditions;
    expect(a!.base).toBe('StringEquals');
    expect(b).toMatchObject({ base: 'StringLike', set: 'ForAnyValue', ifExists: true });
  });

  it('accepts JSON numbers and booleans as condition values', () => {
    const p = parsePolicy(doc([{ ...ok, Condition: { Bool: { 'aws:SecureTransport': true }, NumericLessThan: { 'ecr:n': 10 } } }]), 'identity');
    expect(p.statements[0]!.conditions).toHaveLength(2);
  });

  it('accepts IPv6 ranges, ISO dates and epoch seconds', () => {
    expect(() =>
      parsePolicy(
        doc([
          {
            ...ok,
            Condition: {
              IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:DB8:1234:5678::/64', '::ffff:192.0.2.1', '10.1.2.3'] },
              DateGreaterThan: { 'aws:CurrentTime': ['2020-01-01T00:00:01Z', '2020-01-01', '2020-01-01T10:00:00.5+02:00', '1577836800'] },
            },
          },
        ]),
        'identity',
      ),
    ).not.toThrow();
  });

  it('accepts every principal form ECR documents', () => {
    const p = parsePolicy(
      doc([
        {
          ...okResource,
          Principal: {
            AWS: ['*', '111122223333', 'arn:aws:iam::111122223333:root', 'arn:aws:iam::111122223333:user/push-pull-user-1', 'arn:aws:iam::111122223333:role/ci'],
            Service: 'codebuild.amazonaws.com',
          },
        },
      ]),
      'resource',
    );
    expect(p.statements[0]!.principal!.aws.map((a) => a.kind)).toEqual(['any', 'account', 'account', 'arn', 'arn']);
    expect(p.statements[0]!.principal!.service).toEqual(['codebuild.amazonaws.com']);
  });

  it('treats properties set to undefined as absent', () => {
    expect(() => parsePolicy({ Version: '2012-10-17', Id: undefined, Statement: [{ ...ok, Condition: undefined }] }, 'identity')).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { evaluate, type ContextValue } from '../../../src/auth/policy/index.js';
import { ALLOW_ALL, conditionHolds, decide, identity, request, user } from './fixtures.js';

type Case = [string, Record<string, unknown>, Record<string, ContextValue>, boolean];

function table(cases: Case[]) {
  it.each(cases)('%s', (_name, condition, context, expected) => {
    expect(conditionHolds(condition, context)).toBe(expected);
  });
}

describe('string operators', () => {
  table([
    ['StringEquals matches the exact value', { StringEquals: { 'ecr:tag': 'prod' } }, { 'ecr:tag': 'prod' }, true],
    ['StringEquals is case-sensitive', { StringEquals: { 'ecr:tag': 'prod' } }, { 'ecr:tag': 'Prod' }, false],
    ['StringEquals ORs the values listed for a key', { StringEquals: { 'ecr:tag': ['dev', 'prod'] } }, { 'ecr:tag': 'prod' }, true],
    ['StringEquals is false when the key is absent', { StringEquals: { 'ecr:tag': 'prod' } }, {}, false],
    ['StringEquals takes * literally', { StringEquals: { 'ecr:tag': 'pro*' } }, { 'ecr:tag': 'prod' }, false],
    ['StringNotEquals holds for another value', { StringNotEquals: { 'ecr:tag': 'prod' } }, { 'ecr:tag': 'dev' }, true],
    ['StringNotEquals fails for the value', { StringNotEquals: { 'ecr:tag': 'prod' } }, { 'ecr:tag': 'prod' }, false],
    ['StringNotEquals NORs its values: one equal fails', { StringNotEquals: { 'ecr:tag': ['dev', 'prod'] } }, { 'ecr:tag': 'prod' }, false],
    ['StringNotEquals NORs its values: none equal holds', { StringNotEquals: { 'ecr:tag': ['dev', 'prod'] } }, { 'ecr:tag': 'test' }, true],
    ['StringNotEquals holds when the key is absent', { StringNotEquals: { 'ecr:tag': 'prod' } }, {}, true],
    ['StringEqualsIgnoreCase ignores case', { StringEqualsIgnoreCase: { 'aws:username': 'johndoe' } }, { 'aws:username': 'JohnDoe' }, true],
    ['StringEqualsIgnoreCase still compares whole values', { StringEqualsIgnoreCase: { 'aws:username': 'johndoe' } }, { 'aws:username': 'johndoe2' }, false],
    ['StringNotEqualsIgnoreCase fails for a value differing in case only', { StringNotEqualsIgnoreCase: { 'ecr:tag': 'PROD' } }, { 'ecr:tag': 'prod' }, false],
    ['StringNotEqualsIgnoreCase holds when the key is absent', { StringNotEqualsIgnoreCase: { 'ecr:tag': 'PROD' } }, {}, true],
    ['StringLike matches * across characters', { StringLike: { 'ecr:tag': 'release-*' } }, { 'ecr:tag': 'release-1.2/x' }, true],
    ['StringLike matches ? as one character', { StringLike: { 'ecr:tag': 'v?' } }, { 'ecr:tag': 'v1' }, true],
    ['StringLike ? is exactly one character', { StringLike: { 'ecr:tag': 'v?' } }, { 'ecr:tag': 'v10' }, false],
    ['StringLike needs a wildcard for partial matches', { StringLike: { 'ecr:tag': 'release' } }, { 'ecr:tag': 'release-1' }, false],
    ['StringLike is case-sensitive', { StringLike: { 'ecr:tag': 'Release-*' } }, { 'ecr:tag': 'release-1' }, false],
    ['StringLike with an empty value matches an empty string', { StringLike: { 's3:prefix': ['', 'home/'] } }, { 's3:prefix': '' }, true],
    ['StringNotLike fails for a matching value', { StringNotLike: { 'ecr:tag': 'release-*' } }, { 'ecr:tag': 'release-1' }, false],
    ['StringNotLike holds for another value', { StringNotLike: { 'ecr:tag': 'release-*' } }, { 'ecr:tag': 'dev' }, true],
    ['StringNotLike holds when the key is absent', { StringNotLike: { 'ecr:tag': 'release-*' } }, {}, true],
    ['condition key names are case-insensitive in the policy', { StringEquals: { 'AWS:USERNAME': 'alice' } }, {}, true],
    ['condition key names are case-insensitive in the context', { StringEquals: { 'ecr:ResourceTag/Team': 'a' } }, { 'ECR:resourcetag/TEAM': 'a' }, true],
    ['keys under one operator are AND\'ed', { StringEquals: { 'ecr:a': '1', 'ecr:b': '2' } }, { 'ecr:a': '1', 'ecr:b': '3' }, false],
    ['keys under one operator all holding', { StringEquals: { 'ecr:a': '1', 'ecr:b': '2' } }, { 'ecr:a': '1', 'ecr:b': '2' }, true],
    ['operators are AND\'ed', { StringEquals: { 'ecr:a': '1' }, StringLike: { 'ecr:b': 'x*' } }, { 'ecr:a': '1', 'ecr:b': 'y' }, false],
    ['a numeric context value compares as its text', { StringEquals: { 'ecr:n': '42' } }, { 'ecr:n': 42 }, true],
    ['an undefined context value is an absent key', { StringEquals: { 'ecr:tag': 'prod' } }, { 'ecr:tag': undefined }, false],
    ['without a set operator, a multivalued key matches when any value does', { StringEquals: { 'aws:TagKeys': 'team' } }, { 'aws:TagKeys': ['owner', 'team'] }, true],
    ['without a set operator, a negated operator fails when any value matches', { StringNotEquals: { 'aws:TagKeys': 'team' } }, { 'aws:TagKeys': ['owner', 'team'] }, false],
  ]);

  it('reads principal tags with case-insensitive tag keys', () => {
    const policy = identity({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalTag/Team': 'payments' } } });
    expect(decide(request(user('alice', { tags: { team: 'payments' } })), { identityPolicies: [policy] })).toBe('Allow');
    expect(decide(request(user('bob', { tags: { team: 'search' } })), { identityPolicies: [policy] })).toBe('ImplicitDeny');
    expect(decide(request(user('carol')), { identityPolicies: [policy] })).toBe('ImplicitDeny');
  });
});

describe('numeric operators', () => {
  table([
    ['NumericEquals compares numbers, not text', { NumericEquals: { 'ecr:n': '10' } }, { 'ecr:n': '10.0' }, true],
    ['NumericEquals with a number in context', { NumericEquals: { 'ecr:n': 10 } }, { 'ecr:n': 10 }, true],
    ['NumericEquals mismatch', { NumericEquals: { 'ecr:n': '10' } }, { 'ecr:n': 11 }, false],
    ['NumericNotEquals holds for another number', { NumericNotEquals: { 'ecr:n': '10' } }, { 'ecr:n': 11 }, true],
    ['NumericNotEquals holds when the key is absent', { NumericNotEquals: { 'ecr:n': '10' } }, {}, true],
    ['NumericLessThan below', { NumericLessThan: { 'ecr:n': '10' } }, { 'ecr:n': 9.5 }, true],
    ['NumericLessThan at the bound', { NumericLessThan: { 'ecr:n': '10' } }, { 'ecr:n': 10 }, false],
    ['NumericLessThanEquals at the bound', { NumericLessThanEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': '10' }, true],
    ['NumericLessThanEquals above', { NumericLessThanEquals: { 's3:max-keys': '10' } }, { 's3:max-keys': '11' }, false],
    ['NumericGreaterThan above', { NumericGreaterThan: { 'ecr:n': '-1' } }, { 'ecr:n': 0 }, true],
    ['NumericGreaterThan at the bound', { NumericGreaterThan: { 'ecr:n': '0' } }, { 'ecr:n': 0 }, false],
    ['NumericGreaterThanEquals at the bound', { NumericGreaterThanEquals: { 'ecr:n': '1e3' } }, { 'ecr:n': 1000 }, true],
    ['a non-numeric request value never matches', { NumericLessThan: { 'ecr:n': '10' } }, { 'ecr:n': 'five' }, false],
    ['NumericLessThan is false when the key is absent', { NumericLessThan: { 'ecr:n': '10' } }, {}, false],
  ]);
});

describe('date operators', () => {
  table([
    ['DateLessThan before the date', { DateLessThan: { 'aws:CurrentTime': '2024-07-01T00:00:00Z' } }, {}, true],
    ['DateLessThan after the date', { DateLessThan: { 'aws:CurrentTime': '2024-05-01T00:00:00Z' } }, {}, false],
    ['DateGreaterThan with a zone offset', { DateGreaterThan: { 'aws:CurrentTime': '2024-06-01T13:59:00+02:00' } }, {}, true],
    ['DateGreaterThan with a zone offset, later', { DateGreaterThan: { 'aws:CurrentTime': '2024-06-01T14:01:00+02:00' } }, {}, false],
    ['DateEquals ISO against epoch seconds', { DateEquals: { 'aws:EpochTime': '2024-06-01T12:00:00Z' } }, {}, true],
    ['DateEquals epoch seconds against ISO', { DateEquals: { 'aws:CurrentTime': '1717243200' } }, {}, true],
    ['DateNotEquals another instant', { DateNotEquals: { 'aws:CurrentTime': '2024-06-01T12:00:01Z' } }, {}, true],
    ['DateNotEquals the same instant', { DateNotEquals: { 'aws:CurrentTime': '2024-06-01T12:00:00.000Z' } }, {}, false],
    ['DateLessThanEquals at the instant', { DateLessThanEquals: { 'aws:CurrentTime': '2024-06-01T12:00:00Z' } }, {}, true],
    ['DateGreaterThanEquals at the instant', { DateGreaterThanEquals: { 'aws:EpochTime': 1717243200 } }, {}, true],
    ['DateGreaterThanEquals one second later', { DateGreaterThanEquals: { 'aws:EpochTime': 1717243201 } }, {}, false],
    ['a date without a time is midnight UTC', { DateGreaterThan: { 'aws:CurrentTime': '2024-06-01' } }, {}, true],
    ['a year alone is that year', { DateLessThan: { 'aws:CurrentTime': '2025' } }, {}, true],
    ['the context may give the time', { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }, { 'aws:CurrentTime': '2019-12-31T23:59:59Z' }, true],
    ['a token issue time in the request', { DateGreaterThan: { 'aws:TokenIssueTime': '2020-01-01T00:00:01Z' } }, { 'aws:TokenIssueTime': '2024-01-01T00:00:00Z' }, true],
    ['a date operator is false when the key is absent', { DateGreaterThan: { 'aws:TokenIssueTime': '2020-01-01T00:00:01Z' } }, {}, false],
    ['an unreadable request date never matches', { DateLessThan: { 'ecr:when': '2030-01-01' } }, { 'ecr:when': 'soon' }, false],
  ]);

  it('fills aws:CurrentTime from the clock when the context does not give it', () => {
    const policy = identity({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2000-01-01T00:00:00Z' } } });
    const req = request(user('alice'));
    expect(evaluate(req, { identityPolicies: [policy] }, { now: new Date('1999-12-31T00:00:00Z') }).decision).toBe('Allow');
    expect(evaluate(req, { identityPolicies: [policy] }).decision).toBe('ImplicitDeny');
  });
});

describe('Bool, BinaryEquals and Null', () => {
  table([
    ['Bool true against boolean true', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true }, true],
    ['Bool true against boolean false', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': false }, false],
    ['Bool false against boolean false', { Bool: { 'aws:SecureTransport': false } }, { 'aws:SecureTransport': false }, true],
    ['Bool compares without case', { Bool: { 'aws:MultiFactorAuthPresent': 'TRUE' } }, { 'aws:MultiFactorAuthPresent': 'true' }, true],
    ['Bool is false when the key is absent', { Bool: { 'aws:MultiFactorAuthPresent': 'true' } }, {}, false],
    ['BoolIfExists is true when the key is absent', { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } }, {}, true],
    ['BinaryEquals compares bytes', { BinaryEquals: { 'ecr:blob': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } }, { 'ecr:blob': Buffer.from('BinaryValueInBase64').toString('base64') }, true],
    ['BinaryEquals mismatch', { BinaryEquals: { 'ecr:blob': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } }, { 'ecr:blob': 'AAAA' }, false],
    ['Null true when the key is absent', { Null: { 'aws:TokenIssueTime': 'true' } }, {}, true],
    ['Null true when the key is present', { Null: { 'aws:TokenIssueTime': 'true' } }, { 'aws:TokenIssueTime': '2024-01-01T00:00:00Z' }, false],
    ['Null false when the key is present', { Null: { 'ecr:ResourceTag/team': 'false' } }, { 'ecr:ResourceTag/team': 'a' }, true],
    ['Null false when the key is absent', { Null: { 'ecr:ResourceTag/team': 'false' } }, {}, false],
    ['Null treats an empty value set as absent', { Null: { 'aws:TagKeys': 'true' } }, { 'aws:TagKeys': [] }, true],
    ['Null treats an empty string as present', { Null: { 'ecr:x': 'false' } }, { 'ecr:x': '' }, true],
  ]);

  it('denies a request not over TLS with the documented Bool deny', () => {
    const deny = identity({ Sid: 'BooleanExample', Effect: 'Deny', Action: 'ecr:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    expect(decide(request(user('alice'), 'ecr:BatchGetImage', undefined, { 'aws:SecureTransport': false }), { identityPolicies: [ALLOW_ALL(), deny] })).toBe('ExplicitDeny');
    expect(decide(request(user('alice'), 'ecr:BatchGetImage', undefined, { 'aws:SecureTransport': true }), { identityPolicies: [ALLOW_ALL(), deny] })).toBe('Allow');
  });
});

describe('IP address operators', () => {
  table([
    ['IpAddress inside an IPv4 range', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.77' }, true],
    ['IpAddress outside an IPv4 range', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.114.1' }, false],
    ['IpAddress with a bare address is /32', { IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:SourceIp': '203.0.113.7' }, true],
    ['IpAddress with a bare address, another host', { IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, { 'aws:SourceIp': '203.0.113.8' }, false],
    ['IpAddress 0.0.0.0/0 covers every IPv4 address', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:SourceIp': '8.8.8.8' }, true],
    ['IpAddress inside an IPv6 range', { IpAddress: { 'aws:SourceIp': '2001:DB8:1234:5678::/64' } }, { 'aws:SourceIp': '2001:db8:1234:5678:abcd::1' }, true],
    ['IpAddress outside an IPv6 range', { IpAddress: { 'aws:SourceIp': '2001:DB8:1234:5678::/64' } }, { 'aws:SourceIp': '2001:db8:1234:5679::1' }, false],
    ['IpAddress with an uncompressed IPv6 address', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:0db8:0000:0000:0000:0000:0000:0001' }, true],
    ['IpAddress with a bare IPv6 address is /128', { IpAddress: { 'aws:SourceIp': '::1' } }, { 'aws:SourceIp': '0:0:0:0:0:0:0:1' }, true],
    ['IpAddress with an IPv6 prefix that is not a multiple of 16', { IpAddress: { 'aws:SourceIp': '2001:db8:8000::/33' } }, { 'aws:SourceIp': '2001:db8:7fff::1' }, false],
    ['an IPv4-mapped IPv6 client matches its IPv4 range', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '::ffff:203.0.113.9' }, true],
    ['an IPv4 client does not match ::/0', { IpAddress: { 'aws:SourceIp': '::/0' } }, { 'aws:SourceIp': '203.0.113.9' }, false],
    ['an IPv6 client does not match an IPv4 range', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:SourceIp': '2001:db8::1' }, false],
    ['mixed IPv4 and IPv6 ranges are OR\'ed', { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:DB8:1234:5678::/64'] } }, { 'aws:SourceIp': '2001:db8:1234:5678::9' }, true],
    ['NotIpAddress outside the range', { NotIpAddress: { 'aws:SourceIp': '54.240.143.0/24' } }, { 'aws:SourceIp': '10.0.0.1' }, true],
    ['NotIpAddress inside the range', { NotIpAddress: { 'aws:SourceIp': '54.240.143.0/24' } }, { 'aws:SourceIp': '54.240.143.200' }, false],
    ['NotIpAddress NORs its ranges', { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } }, { 'aws:SourceIp': '192.168.1.1' }, false],
    ['NotIpAddress holds when the key is absent', { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
    ['IpAddress is false for an unreadable address', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, { 'aws:SourceIp': 'localhost' }, false],
    ['IpAddress accepts a zone id on a link-local client', { IpAddress: { 'aws:SourceIp': 'fe80::/10' } }, { 'aws:SourceIp': 'fe80::1%eth0' }, true],
  ]);
});

describe('ARN operators', () => {
  table([
    ['ArnLike with a wildcard region', { ArnLike: { 'aws:SourceArn': 'arn:aws:codebuild:*:123456789012:project/*' } }, { 'aws:SourceArn': 'arn:aws:codebuild:eu-west-1:123456789012:project/web' }, true],
    ['ArnEquals takes wildcards too', { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/ci-*' } }, { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/ci-build' }, true],
    ['ArnLike matches part by part (the IAM documentation example)', { ArnLike: { 'ecr:x': 'arn:aws:someservice:*:111122223333:finance/*' } }, { 'ecr:x': 'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt' }, false],
    ['StringLike matches that example across parts', { StringLike: { 'ecr:x': 'arn:aws:someservice:*:111122223333:finance/*' } }, { 'ecr:x': 'arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt' }, true],
    ['ArnLike is case-sensitive', { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/Alice' } }, {}, false],
    ['ArnNotEquals another ARN', { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/bob' } }, {}, true],
    ['ArnNotLike the caller', { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/*' } }, {}, false],
    ['ArnNotLike holds when the key is absent', { ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } }, {}, true],
    ['ArnLike is false for a value that is not an ARN', { ArnLike: { 'ecr:x': 'arn:aws:iam::*:user/*' } }, { 'ecr:x': 'alice' }, false],
    ['ArnLike is false when the key is absent', { ArnLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } }, {}, false],
  ]);
});

describe('...IfExists', () => {
  table([
    ['StringEqualsIfExists holds when the key is absent', { StringEqualsIfExists: { 'ecr:tag': 'prod' } }, {}, true],
    ['StringEqualsIfExists checks a present key', { StringEqualsIfExists: { 'ecr:tag': 'prod' } }, { 'ecr:tag': 'dev' }, false],
    ['StringLikeIfExists matching a present key', { StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } }, { 'ec2:InstanceType': 't2.micro' }, true],
    ['StringNotEqualsIfExists holds when the key is absent', { StringNotEqualsIfExists: { 'ecr:tag': 'prod' } }, {}, true],
    ['StringNotEqualsIfExists fails for the value', { StringNotEqualsIfExists: { 'ecr:tag': 'prod' } }, { 'ecr:tag': 'prod' }, false],
    ['NumericLessThanIfExists checks a present key', { NumericLessThanIfExists: { 'ecr:n': '5' } }, { 'ecr:n': 7 }, false],
    ['DateLessThanIfExists holds when the key is absent', { DateLessThanIfExists: { 'aws:TokenIssueTime': '2020-01-01' } }, {}, true],
    ['IpAddressIfExists holds when the key is absent', { IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
    ['ArnLikeIfExists checks a present key', { ArnLikeIfExists: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } }, { 'aws:SourceArn': 'arn:aws:sqs:us-east-1:1:q' }, false],
    ['IfExists treats an empty value set as absent', { StringEqualsIfExists: { 'aws:TagKeys': 'x' } }, { 'aws:TagKeys': [] }, true],
  ]);

  it('a Deny with a negated IfExists operator still denies when the key is missing', () => {
    const deny = identity({ Effect: 'Deny', Action: 'ecr:*', Resource: '*', Condition: { StringNotEqualsIfExists: { 'ecr:ResourceTag/team': 'payments' } } });
    const policies = { identityPolicies: [ALLOW_ALL(), deny] };
    expect(decide(request(user('alice')), policies)).toBe('ExplicitDeny');
    expect(decide(request(user('alice'), 'ecr:PutImage', undefined, { 'ecr:ResourceTag/team': 'search' }), policies)).toBe('ExplicitDeny');
    expect(decide(request(user('alice'), 'ecr:PutImage', undefined, { 'ecr:ResourceTag/team': 'payments' }), policies)).toBe('Allow');
  });
});

describe('ForAllValues and ForAnyValue', () => {
  table([
    ['ForAllValues holds when every value is listed', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'owner', 'cost'] } }, { 'aws:TagKeys': ['team', 'owner'] }, true],
    ['ForAllValues fails when a value is not listed', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team', 'owner'] } }, { 'aws:TagKeys': ['team', 'secret'] }, false],
    ['ForAllValues holds when the key is absent', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } }, {}, true],
    ['ForAllValues holds for an empty value set', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } }, { 'aws:TagKeys': [] }, true],
    ['ForAllValues holds for an empty string', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } }, { 'aws:TagKeys': '' }, true],
    ['ForAllValues with a single-valued key', { 'ForAllValues:StringLike': { 'ecr:tag': 'v*' } }, { 'ecr:tag': 'v1' }, true],
    ['ForAllValues:StringLike with wildcards', { 'ForAllValues:StringLike': { 'aws:TagKeys': 'Created*' } }, { 'aws:TagKeys': ['CreatedBy', 'CreatedAt'] }, true],
    ['ForAllValues:StringEqualsIgnoreCase', { 'ForAllValues:StringEqualsIgnoreCase': { 'aws:TagKeys': ['Team'] } }, { 'aws:TagKeys': ['TEAM', 'team'] }, true],
    ['ForAllValues with Null false rejects a missing key', { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] }, Null: { 'aws:TagKeys': 'false' } }, {}, false],
    ['ForAnyValue holds when one value is listed', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['ID', 'PostDateTime'] } }, { 'aws:TagKeys': ['UserName', 'Message', 'PostDateTime'] }, true],
    ['ForAnyValue fails when none is listed', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['ID', 'PostDateTime'] } }, { 'aws:TagKeys': ['UserName'] }, false],
    ['ForAnyValue fails when the key is absent', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team'] } }, {}, false],
    ['ForAnyValue fails for an empty value set', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['team'] } }, { 'aws:TagKeys': [] }, false],
    ['ForAnyValue:StringLike with wildcards', { 'ForAnyValue:StringLike': { 'aws:TagKeys': 'cost*' } }, { 'aws:TagKeys': ['team', 'costCenter'] }, true],
    ['ForAnyValue...IfExists holds when the key is absent', { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['team'] } }, {}, true],
    ['ForAllValues:StringNotLike — every value avoids the pattern', { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } }, { 'aws:TagKeys': ['key2:audit'] }, true],
    ['ForAllValues:StringNotLike — one value matches the pattern', { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } }, { 'aws:TagKeys': ['key1:legal'] }, false],
    ['ForAllValues:StringNotLike — several values, all matching', { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } }, { 'aws:TagKeys': ['key1:hr', 'key1:personnel'] }, false],
    ['ForAllValues:StringNotLike — key absent', { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } }, {}, true],
    ['ForAnyValue:StringNotEquals — one value outside the list', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['a', 'b'] } }, { 'aws:TagKeys': ['a', 'c'] }, true],
    ['ForAnyValue:StringNotEquals — every value in the list', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['a', 'b'] } }, { 'aws:TagKeys': ['a', 'b'] }, false],
    ['ForAnyValue:StringNotEquals — key absent', { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['a'] } }, {}, false],
    ['ForAnyValue:IpAddress over several addresses', { 'ForAnyValue:IpAddress': { 'ecr:hops': '10.0.0.0/8' } }, { 'ecr:hops': ['192.0.2.1', '10.1.1.1'] }, true],
  ]);
});

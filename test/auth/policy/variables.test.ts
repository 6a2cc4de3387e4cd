import { describe, expect, it } from 'vitest';
import { ecrRepositoryArn, type ContextValue, type Decision, type RequestPrincipal } from '../../../src/auth/policy/index.js';
import { ACCOUNT, ALLOW_ALL, ANONYMOUS, decide, identity, request, resource, user } from './fixtures.js';

const repo = (name: string) => ecrRepositoryArn('us-east-1', ACCOUNT, name);

describe('policy variables in Resource', () => {
  const cases: [string, string, string, RequestPrincipal, Decision, string?][] = [
    ['${aws:username} names the caller\'s own repositories', 'arn:aws:ecr:*:123456789012:repository/home/${aws:username}/*', repo('home/alice/app'), user('alice'), 'Allow'],
    ['${aws:username} does not reach another user\'s', 'arn:aws:ecr:*:123456789012:repository/home/${aws:username}/*', repo('home/bob/app'), user('alice'), 'ImplicitDeny'],
    ['${aws:userid} substitutes the unique id', 'arn:aws:ecr:*:123456789012:repository/${aws:userid}', repo('AIDAALICE'), user('alice'), 'Allow'],
    ['${aws:PrincipalTag/team} substitutes a tag', 'arn:aws:ecr:*:123456789012:repository/${aws:PrincipalTag/team}/*', repo('payments/api'), user('alice', { tags: { team: 'payments' } }), 'Allow'],
    ['variable names are case-insensitive', 'arn:aws:ecr:*:123456789012:repository/${AWS:PRINCIPALTAG/TEAM}/*', repo('payments/api'), user('alice', { tags: { Team: 'payments' } }), 'Allow'],
    ['an unresolvable variable makes the statement not apply', 'arn:aws:ecr:*:123456789012:repository/${aws:PrincipalTag/team}/*', repo('payments/api'), user('alice'), 'ImplicitDeny'],
    ['a default value stands in for a missing key', "arn:aws:ecr:*:123456789012:repository/${aws:PrincipalTag/team, 'shared'}/*", repo('shared/base'), user('alice'), 'Allow'],
    ['a substituted value is literal: a * in a tag is no wildcard', 'arn:aws:ecr:*:123456789012:repository/${aws:PrincipalTag/team}', repo('payments'), user('mallory', { tags: { team: '*' } }), 'ImplicitDeny'],
    ['a substituted * matches only a literal *', 'arn:aws:ecr:*:123456789012:repository/${aws:PrincipalTag/team}', repo('*'), user('mallory', { tags: { team: '*' } }), 'Allow'],
    ['a variable before the fifth colon is literal text', 'arn:aws:ecr:*:${aws:PrincipalAccount}:repository/team/app', repo('team/app'), user('alice'), 'ImplicitDeny'],
    ['a variable may come from the request context', 'arn:aws:ecr:*:123456789012:repository/${ecr:ResourceTag/owner}', repo('x'), user('alice'), 'Allow', 'x'],
  ];
  it.each(cases)('%s', (_name, pattern, arn, principal, expected, owner) => {
    const policy = identity({ Effect: 'Allow', Action: 'ecr:*', Resource: pattern });
    const context: Record<string, ContextValue> = owner ? { 'ecr:ResourceTag/owner': owner } : {};
    expect(decide(request(principal, 'ecr:PutImage', arn, context), { identityPolicies: [policy] })).toBe(expected);
  });

  it('are not variables in a 2008-10-17 document', () => {
    const policy = identity({ Effect: 'Allow', Action: 'ecr:*', Resource: 'arn:aws:ecr:*:123456789012:repository/${aws:username}' }, '2008-10-17');
    expect(decide(request(user('alice'), 'ecr:PutImage', repo('alice')), { identityPolicies: [policy] })).toBe('ImplicitDeny');
    expect(decide(request(user('alice'), 'ecr:PutImage', repo('${aws:username}')), { identityPolicies: [policy] })).toBe('Allow');
  });

  it('an unresolvable variable in a Deny statement makes that Deny not apply either', () => {
    const deny = identity({ Effect: 'Deny', Action: 'ecr:*', Resource: 'arn:aws:ecr:*:*:repository/${aws:PrincipalTag/blocked}' });
    expect(decide(request(user('alice'), 'ecr:PutImage', repo('x')), { identityPolicies: [ALLOW_ALL(), deny] })).toBe('Allow');
    expect(decide(request(user('alice', { tags: { blocked: 'x' } }), 'ecr:PutImage', repo('x')), { identityPolicies: [ALLOW_ALL(), deny] })).toBe('ExplicitDeny');
  });

  it('an anonymous caller has no aws:username', () => {
    const policy = resource({ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage', Resource: 'arn:aws:ecr:*:*:repository/${aws:username}/*' });
    expect(decide(request(ANONYMOUS, 'ecr:BatchGetImage', repo('alice/app')), { resourcePolicy: policy })).toBe('ImplicitDeny');
  });
});

describe('policy variables in Condition values', () => {
  const cases: [string, Record<string, unknown>, RequestPrincipal, Record<string, ContextValue>, boolean][] = [
    ['StringEquals against ${aws:username}', { StringEquals: { 'ecr:ResourceTag/owner': '${aws:username}' } }, user('alice'), { 'ecr:ResourceTag/owner': 'alice' }, true],
    ['StringEquals against ${aws:username}, another owner', { StringEquals: { 'ecr:ResourceTag/owner': '${aws:username}' } }, user('alice'), { 'ecr:ResourceTag/owner': 'bob' }, false],
    ['ABAC: a resource tag equal to a principal tag', { StringEquals: { 'ecr:ResourceTag/team': '${aws:PrincipalTag/team}' } }, user('alice', { tags: { team: 'a' } }), { 'ecr:ResourceTag/team': 'a' }, true],
    ['ABAC: a principal without the tag does not match', { StringEquals: { 'ecr:ResourceTag/team': '${aws:PrincipalTag/team}' } }, user('alice'), { 'ecr:ResourceTag/team': 'a' }, false],
    ['StringLike with a variable and a wildcard', { StringLike: { 's3:prefix': ['home/${aws:username}/*'] } }, user('alice'), { 's3:prefix': 'home/alice/x' }, true],
    ['${*} is a literal asterisk', { StringLike: { 'ecr:tag': 'v${*}' } }, user('alice'), { 'ecr:tag': 'v*' }, true],
    ['${*} does not act as a wildcard', { StringLike: { 'ecr:tag': 'v${*}' } }, user('alice'), { 'ecr:tag': 'v1' }, false],
    ['${?} is a literal question mark', { StringLike: { 'ecr:tag': 'why${?}' } }, user('alice'), { 'ecr:tag': 'why?' }, true],
    ['${?} does not act as a wildcard', { StringLike: { 'ecr:tag': 'why${?}' } }, user('alice'), { 'ecr:tag': 'whyy' }, false],
    ['${$} is a literal dollar sign', { StringEquals: { 'ecr:tag': '${$}{aws:username}' } }, user('alice'), { 'ecr:tag': '${aws:username}' }, true],
    ['ArnLike with a variable', { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:user/${aws:username}' } }, user('alice'), {}, true],
    ['a multivalued key is not a variable', { StringEquals: { 'ecr:tag': '${aws:TagKeys}' } }, user('alice'), { 'aws:TagKeys': ['a'], 'ecr:tag': 'a' }, false],
    ['a default value for a missing key', { StringEquals: { 'ecr:tag': "${aws:PrincipalTag/env, 'dev'}" } }, user('alice'), { 'ecr:tag': 'dev' }, true],
    ['an unresolvable variable under a negated operator does not apply', { StringNotEquals: { 'ecr:tag': '${aws:PrincipalTag/env}' } }, user('alice'), { 'ecr:tag': 'x' }, false],
    ['an IfExists condition on an absent key needs no variable', { StringEqualsIfExists: { 'ecr:tag': '${aws:PrincipalTag/env}' } }, user('alice'), {}, true],
  ];
  it.each(cases)('%s', (_name, condition, principal, context, expected) => {
    const policy = identity({ Effect: 'Allow', Action: '*', Resource: '*', Condition: condition });
    expect(decide(request(principal, 'ecr:BatchGetImage', undefined, context), { identityPolicies: [policy] }) === 'Allow').toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { ecrRepositoryArn, matchesAction, matchesArn, parseArn, type Decision, type RequestPrincipal } from '../../../src/auth/policy/index.js';
import { ACCOUNT, ALLOW_ALL, ANONYMOUS, CODEBUILD, decide, identity, OTHER_ACCOUNT, REPO, request, resource, session, user } from './fixtures.js';

describe('matchesAction', () => {
  it.each([
    ['ecr:*', 'ecr:BatchGetImage', true],
    ['ecr:*', 's3:GetObject', false],
    ['*', 'ecr:PutImage', true],
    ['ecr:Batch*', 'ecr:BatchGetImage', true],
    ['ecr:Batch*', 'ecr:BatchCheckLayerAvailability', true],
    ['ecr:Batch*', 'ecr:GetDownloadUrlForLayer', false],
    ['ecr:*Image', 'ecr:PutImage', true],
    ['ecr:*Image', 'ecr:ListImages', false],
    ['ecr:Get?ownloadUrlForLayer', 'ecr:GetDownloadUrlForLayer', true],
    ['ecr:Get?ownloadUrlForLayer', 'ecr:GetDDownloadUrlForLayer', false],
    ['ECR:batchgetimage', 'ecr:BatchGetImage', true],
    ['ecr:BatchGetImage', 'ECR:BATCHGETIMAGE', true],
    ['ecr:BatchGetImage', 'ecr:BatchGetImages', false],
    ['ecr:BatchGetImage', 'ecr:BatchGet', false],
    ['ecr:*Layer*', 'ecr:InitiateLayerUpload', true],
  ])('%s ~ %s → %s', (pattern, action, expected) => {
    expect(matchesAction(pattern, action)).toBe(expected);
  });
});

describe('matchesArn', () => {
  const repo = (name: string, account = ACCOUNT, region = 'us-east-1') => ecrRepositoryArn(region, account, name);
  it.each([
    ['*', repo('team/app'), true],
    [repo('team/app'), repo('team/app'), true],
    [repo('team/app'), repo('team/app2'), false],
    [repo('team/*'), repo('team/app'), true],
    [repo('team/*'), repo('team/sub/app'), true],
    [repo('team/*'), repo('team'), false],
    [repo('*'), repo('anything/at/all'), true],
    [repo('app-?'), repo('app-1'), true],
    [repo('app-?'), repo('app-10'), false],
    [repo('Team/App'), repo('team/app'), false],
    ['arn:aws:ecr:*:123456789012:repository/team/app', repo('team/app', ACCOUNT, 'eu-west-1'), true],
    ['arn:aws:ecr:*:123456789012:repository/team/app', repo('team/app', OTHER_ACCOUNT), false],
    ['arn:aws:ecr:us-east-1:*:repository/*', repo('x', OTHER_ACCOUNT), true],
    ['arn:aws:s3:::*', repo('x'), false],
    // A wildcard stays inside its ARN part: the "*" is the region only, so "repository/app" must be the whole account part onward.
    ['arn:aws:ecr:*:repository/app', repo('app'), false],
    ['arn:aws:ecr:*', repo('app'), true],
    ['arn:aws:ecr:us-east-1:123456789012:repository/a:b', 'arn:aws:ecr:us-east-1:123456789012:repository/a:b', true],
    ['arn:aws:ecr:us-east-1:123456789012:repository/*', 'not-an-arn', false],
  ])('%s ~ %s → %s', (pattern, arn, expected) => {
    expect(matchesArn(pattern, arn)).toBe(expected);
  });

  it('builds and parses ECR repository ARNs', () => {
    expect(ecrRepositoryArn('us-east-1', ACCOUNT, 'team/app')).toBe('arn:aws:ecr:us-east-1:123456789012:repository/team/app');
    expect(parseArn(REPO)).toEqual({ partition: 'aws', service: 'ecr', region: 'us-east-1', account: ACCOUNT, resource: 'repository/team/app' });
    expect(parseArn('repository/team/app')).toBeNull();
  });
});

describe('Action, NotAction, Resource, NotResource in statements', () => {
  const cases: [string, Record<string, unknown>, string, string, Decision][] = [
    ['Action list allows a listed action', { Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: '*' }, 'ecr:GetDownloadUrlForLayer', REPO, 'Allow'],
    ['Action list does not allow others', { Effect: 'Allow', Action: ['ecr:BatchGetImage'], Resource: '*' }, 'ecr:PutImage', REPO, 'ImplicitDeny'],
    ['NotAction allows everything not listed', { Effect: 'Allow', NotAction: 'ecr:Delete*', Resource: '*' }, 'ecr:PutImage', REPO, 'Allow'],
    ['NotAction does not allow what it lists', { Effect: 'Allow', NotAction: 'ecr:Delete*', Resource: '*' }, 'ecr:DeleteRepository', REPO, 'ImplicitDeny'],
    ['Resource with a wildcard path', { Effect: 'Allow', Action: 'ecr:*', Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/team/*' }, 'ecr:PutImage', REPO, 'Allow'],
    ['Resource of another repository', { Effect: 'Allow', Action: 'ecr:*', Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/other' }, 'ecr:PutImage', REPO, 'ImplicitDeny'],
    ['NotResource allows everything else', { Effect: 'Allow', Action: 'ecr:*', NotResource: 'arn:aws:ecr:*:*:repository/secret/*' }, 'ecr:PutImage', REPO, 'Allow'],
    [
      'NotResource excludes what it lists',
      { Effect: 'Allow', Action: 'ecr:*', NotResource: 'arn:aws:ecr:*:*:repository/secret/*' },
      'ecr:PutImage',
      ecrRepositoryArn('us-east-1', ACCOUNT, 'secret/keys'),
      'ImplicitDeny',
    ],
    ['an action matches whatever its case in the request', { Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: '*' }, 'ECR:batchgetimage', REPO, 'Allow'],
  ];
  it.each(cases)('%s', (_name, statement, action, arn, expected) => {
    expect(decide(request(user('alice'), action, arn), { identityPolicies: [identity(statement)] })).toBe(expected);
  });

  it('Deny with NotAction denies every action except those listed', () => {
    const policies = { identityPolicies: [ALLOW_ALL(), identity({ Effect: 'Deny', NotAction: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: '*' })] };
    expect(decide(request(user('alice'), 'ecr:BatchGetImage'), policies)).toBe('Allow');
    expect(decide(request(user('alice'), 'ecr:PutImage'), policies)).toBe('ExplicitDeny');
  });

  it('Deny with NotResource denies every resource except those listed', () => {
    const policies = { identityPolicies: [ALLOW_ALL(), identity({ Effect: 'Deny', Action: 'ecr:*', NotResource: 'arn:aws:ecr:*:*:repository/team/*' })] };
    expect(decide(request(user('alice'), 'ecr:PutImage', REPO), policies)).toBe('Allow');
    expect(decide(request(user('alice'), 'ecr:PutImage', ecrRepositoryArn('us-east-1', ACCOUNT, 'other')), policies)).toBe('ExplicitDeny');
  });
});

describe('Principal in resource-based policies', () => {
  const allowFor = (principal: unknown) => resource({ Effect: 'Allow', Principal: principal, Action: 'ecr:BatchGetImage' });
  const cases: [string, unknown, RequestPrincipal, Decision][] = [
    ['"*" matches a user', '*', user('alice'), 'Allow'],
    ['"*" matches an anonymous caller', '*', ANONYMOUS, 'Allow'],
    ['{"AWS": "*"} matches an anonymous caller', { AWS: '*' }, ANONYMOUS, 'Allow'],
    ['{"AWS": "*"} matches a user', { AWS: '*' }, user('alice'), 'Allow'],
    ['an account id matches a user of that account', { AWS: ACCOUNT }, user('alice'), 'Allow'],
    ['an account id matches a role session of that account', { AWS: ACCOUNT }, session('ci', 'build-7'), 'Allow'],
    ['an account root ARN matches any user of that account', { AWS: `arn:aws:iam::${ACCOUNT}:root` }, user('bob'), 'Allow'],
    ['an account id does not match another account', { AWS: OTHER_ACCOUNT }, user('alice'), 'ImplicitDeny'],
    ['an account id does not match an anonymous caller', { AWS: ACCOUNT }, ANONYMOUS, 'ImplicitDeny'],
    ['a user ARN matches that user', { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, user('alice'), 'Allow'],
    ['a user ARN does not match another user', { AWS: `arn:aws:iam::${ACCOUNT}:user/alice` }, user('bob'), 'ImplicitDeny'],
    ['a user ARN is case-sensitive', { AWS: `arn:aws:iam::${ACCOUNT}:user/Alice` }, user('alice'), 'ImplicitDeny'],
    ['a list of ARNs is OR\'ed', { AWS: [`arn:aws:iam::${ACCOUNT}:user/bob`, `arn:aws:iam::${ACCOUNT}:user/alice`] }, user('alice'), 'Allow'],
    ['a role ARN matches its sessions', { AWS: `arn:aws:iam::${ACCOUNT}:role/ci` }, session('ci', 'build-7'), 'Allow'],
    ['a role ARN with a path matches its sessions', { AWS: `arn:aws:iam::${ACCOUNT}:role/service/ci` }, session('ci', 'build-7'), 'Allow'],
    ['a role ARN does not match another role\'s sessions', { AWS: `arn:aws:iam::${ACCOUNT}:role/ci` }, session('deploy', 'x'), 'ImplicitDeny'],
    ['a service principal matches that service', { Service: 'codebuild.amazonaws.com' }, CODEBUILD, 'Allow'],
    ['a service principal does not match a user', { Service: 'codebuild.amazonaws.com' }, user('alice'), 'ImplicitDeny'],
    ['an AWS principal does not match a service', { AWS: ACCOUNT }, CODEBUILD, 'ImplicitDeny'],
  ];
  it.each(cases)('%s', (_name, principal, caller, expected) => {
    expect(decide(request(caller), { resourcePolicy: allowFor(principal) })).toBe(expected);
  });
});

describe('NotPrincipal', () => {
  const bob = `arn:aws:iam::${ACCOUNT}:user/bob`;
  const root = `arn:aws:iam::${ACCOUNT}:root`;
  const denyAllBut = (names: unknown) => resource({ Effect: 'Deny', NotPrincipal: names, Action: 'ecr:*' });
  const cases: [string, unknown, RequestPrincipal, Decision][] = [
    ['Deny with NotPrincipal denies principals not listed', { AWS: [bob, root] }, user('alice'), 'ExplicitDeny'],
    ['Deny with NotPrincipal spares a listed user', { AWS: [bob, root] }, user('bob'), 'Allow'],
    ['Deny with NotPrincipal spares a user listed without the account', { AWS: bob }, user('bob'), 'Allow'],
    ['listing the account exempts its root, not its users', { AWS: ACCOUNT }, user('alice'), 'ExplicitDeny'],
    ['listing the account exempts the root itself', { AWS: ACCOUNT }, { arn: root, accountId: ACCOUNT }, 'Allow'],
    ['Deny with NotPrincipal applies to anonymous callers', { AWS: [bob, root] }, ANONYMOUS, 'ExplicitDeny'],
    ['NotPrincipal {"AWS": "*"} exempts everyone', { AWS: '*' }, user('alice'), 'Allow'],
    ['a listed assumed-role session is exempt', { AWS: `arn:aws:sts::${ACCOUNT}:assumed-role/ci/build-7` }, session('ci', 'build-7'), 'Allow'],
  ];
  it.each(cases)('%s', (_name, names, caller, expected) => {
    const resourcePolicy = resource([
      { Sid: 'Everyone', Effect: 'Allow', Principal: '*', Action: 'ecr:*' },
      { Sid: 'Fence', Effect: 'Deny', NotPrincipal: names, Action: 'ecr:*' },
    ]);
    expect(decide(request(caller), { resourcePolicy })).toBe(expected);
    expect(denyAllBut(names).statements[0]!.notPrincipal).toBeDefined();
  });

  it('Allow with NotPrincipal allows other users but never an anonymous caller', () => {
    const resourcePolicy = resource({ Effect: 'Allow', NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:user/bob` }, Action: 'ecr:BatchGetImage' });
    expect(decide(request(user('alice')), { resourcePolicy })).toBe('Allow');
    expect(decide(request(user('bob')), { resourcePolicy })).toBe('ImplicitDeny');
    expect(decide(request(ANONYMOUS), { resourcePolicy })).toBe('ImplicitDeny');
  });
});

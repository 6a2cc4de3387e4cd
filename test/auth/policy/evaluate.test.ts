import { describe, expect, it } from 'vitest';
import { ecrRepositoryArn, evaluate, parsePolicy, type Decision, type Policy, type PolicySet } from '../../../src/auth/policy/index.js';
import { ACCOUNT, ALLOW_ALL, ANONYMOUS, CODEBUILD, decide, identity, NOW, OTHER_ACCOUNT, REPO, request, resource, session, user } from './fixtures.js';

const allowPull = () => identity({ Sid: 'Pull', Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: '*' });
const denyPull = () => identity({ Sid: 'NoPull', Effect: 'Deny', Action: 'ecr:BatchGetImage', Resource: '*' });
const repoAllowAccount = (account = ACCOUNT) => resource({ Sid: 'RepoPull', Effect: 'Allow', Principal: { AWS: account }, Action: 'ecr:BatchGetImage' });
const repoDenyAll = () => resource({ Sid: 'RepoDeny', Effect: 'Deny', Principal: '*', Action: 'ecr:BatchGetImage' });
const registryAllow = () => resource({ Sid: 'RegistryPull', Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'ecr:*', Resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/*` });
const registryDeny = () => resource({ Sid: 'RegistryDeny', Effect: 'Deny', Principal: '*', Action: 'ecr:BatchGetImage', Resource: '*' });

describe('evaluation logic', () => {
  const cases: [string, () => Partial<PolicySet>, Decision][] = [
    ['no policy at all is an implicit deny', () => ({}), 'ImplicitDeny'],
    ['an identity Allow allows', () => ({ identityPolicies: [allowPull()] }), 'Allow'],
    ['an identity Allow for another action is an implicit deny', () => ({ identityPolicies: [identity({ Effect: 'Allow', Action: 'ecr:PutImage', Resource: '*' })] }), 'ImplicitDeny'],
    ['an identity Deny beats an identity Allow', () => ({ identityPolicies: [allowPull(), denyPull()] }), 'ExplicitDeny'],
    ['a Deny in the same policy beats its Allow', () => ({ identityPolicies: [identity([{ Effect: 'Allow', Action: '*', Resource: '*' }, { Effect: 'Deny', Action: 'ecr:Batch*', Resource: '*' }])] }), 'ExplicitDeny'],
    ['a repository policy Allow alone allows within the account', () => ({ resourcePolicy: repoAllowAccount() }), 'Allow'],
    ['a registry policy Allow alone allows within the account', () => ({ registryPolicy: registryAllow() }), 'Allow'],
    ['a repository Deny beats an identity Allow', () => ({ identityPolicies: [ALLOW_ALL()], resourcePolicy: repoDenyAll() }), 'ExplicitDeny'],
    ['an identity Deny beats a repository Allow', () => ({ identityPolicies: [denyPull()], resourcePolicy: repoAllowAccount() }), 'ExplicitDeny'],
    ['a registry Deny beats a repository Allow', () => ({ resourcePolicy: repoAllowAccount(), registryPolicy: registryDeny() }), 'ExplicitDeny'],
    ['a repository Deny beats a registry Allow', () => ({ resourcePolicy: repoDenyAll(), registryPolicy: registryAllow() }), 'ExplicitDeny'],
    ['a repository policy for another account grants nothing', () => ({ resourcePolicy: repoAllowAccount(OTHER_ACCOUNT) }), 'ImplicitDeny'],
    ['a Deny whose condition fails does not deny', () => ({ identityPolicies: [ALLOW_ALL(), identity({ Effect: 'Deny', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] }), 'Allow'],
  ];
  it.each(cases)('%s', (_name, set, expected) => {
    expect(decide(request(user('alice')), set())).toBe(expected);
  });

  it('reports the statements that applied, with policy labels and Sids', () => {
    const result = evaluate(
      request(user('alice')),
      { identityPolicies: [identity({ Effect: 'Allow', Action: '*', Resource: '*' }, '2012-10-17', 'user/alice/inline/admin'), allowPull()], resourcePolicy: repoDenyAll(), registryPolicy: registryAllow() },
      { now: NOW },
    );
    expect(result.decision).toBe('ExplicitDeny');
    expect(result.matched).toEqual([
      { policy: 'user/alice/inline/admin', statement: 0, effect: 'Allow' },
      { policy: 'identityPolicies[1]', sid: 'Pull', statement: 0, effect: 'Allow' },
      { policy: 'resourcePolicy', sid: 'RepoDeny', statement: 0, effect: 'Deny' },
      { policy: 'registryPolicy', sid: 'RegistryPull', statement: 0, effect: 'Allow' },
    ]);
  });

  it('reports nothing matched for an implicit deny', () => {
    expect(evaluate(request(user('alice'), 'ecr:PutImage'), { identityPolicies: [allowPull()] })).toEqual({ decision: 'ImplicitDeny', matched: [] });
  });

  it('refuses a policy of the wrong kind in each place', () => {
    expect(() => evaluate(request(), { identityPolicies: [repoAllowAccount()] })).toThrow(TypeError);
    expect(() => evaluate(request(), { identityPolicies: [], resourcePolicy: allowPull() })).toThrow(/resourcePolicy is a identity-based policy/);
  });

  it('a resource-based statement naming Resource covers only that resource', () => {
    const policy = resource({ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'ecr:*', Resource: ecrRepositoryArn('us-east-1', ACCOUNT, 'other') });
    expect(decide(request(user('alice')), { resourcePolicy: policy })).toBe('ImplicitDeny');
  });

  it('derives aws:PrincipalArn, aws:PrincipalAccount and aws:PrincipalType from the caller', () => {
    const policy = identity({
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: { StringEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/alice`, 'aws:PrincipalAccount': ACCOUNT, 'aws:PrincipalType': 'User' } },
    });
    expect(decide(request(user('alice')), { identityPolicies: [policy] })).toBe('Allow');
  });

  it('gives a role session the role ARN as aws:PrincipalArn', () => {
    const policy = identity({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { ArnEquals: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/ci` } } });
    expect(decide(request(session('ci', 'build-1')), { identityPolicies: [policy] })).toBe('Allow');
  });

  it('lets the request context override a derived key', () => {
    const policy = identity({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { StringEquals: { 'aws:username': 'svc' } } });
    expect(decide(request(user('alice'), 'ecr:BatchGetImage', REPO, { 'aws:username': 'svc' }), { identityPolicies: [policy] })).toBe('Allow');
  });
});

describe('cross-account requests', () => {
  const outsider = user('partner', {}, OTHER_ACCOUNT);
  const repoForPartner = () => resource({ Effect: 'Allow', Principal: { AWS: OTHER_ACCOUNT }, Action: 'ecr:BatchGetImage' });
  it.each([
    ['a repository Allow alone is not enough', () => ({ resourcePolicy: repoForPartner() }), 'ImplicitDeny'],
    ['an identity Allow alone is not enough', () => ({ identityPolicies: [allowPull()] }), 'ImplicitDeny'],
    ['both together allow', () => ({ identityPolicies: [allowPull()], resourcePolicy: repoForPartner() }), 'Allow'],
    ['a Deny still wins', () => ({ identityPolicies: [allowPull(), denyPull()], resourcePolicy: repoForPartner() }), 'ExplicitDeny'],
  ] as [string, () => Partial<PolicySet>, Decision][])('%s', (_name, set, expected) => {
    expect(decide(request(outsider), set())).toBe(expected);
  });
});

describe('anonymous and service callers', () => {
  const publicRead = () => resource({ Sid: 'PublicRead', Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'] });
  it.each([
    ['are implicitly denied without a resource policy', () => ({}), 'ImplicitDeny'],
    ['are not allowed by identity policies', () => ({ identityPolicies: [ALLOW_ALL()] }), 'ImplicitDeny'],
    ['are allowed by Principal "*"', () => ({ resourcePolicy: publicRead() }), 'Allow'],
    ['are allowed by Principal {"AWS": "*"} in the registry policy', () => ({ registryPolicy: resource({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'ecr:BatchGetImage', Resource: '*' }) }), 'Allow'],
    ['are not allowed by an account principal', () => ({ resourcePolicy: repoAllowAccount() }), 'ImplicitDeny'],
    ['are denied by a Deny for "*"', () => ({ resourcePolicy: publicRead(), registryPolicy: registryDeny() }), 'ExplicitDeny'],
    ['are denied by a Deny in an identity policy given for them', () => ({ identityPolicies: [denyPull()], resourcePolicy: publicRead() }), 'ExplicitDeny'],
  ] as [string, () => Partial<PolicySet>, Decision][])('anonymous callers %s', (_name, set, expected) => {
    expect(decide(request(ANONYMOUS), set())).toBe(expected);
  });

  it('a public-read repository policy does not let anonymous callers push', () => {
    expect(decide(request(ANONYMOUS, 'ecr:PutImage'), { resourcePolicy: publicRead() })).toBe('ImplicitDeny');
  });

  it('an anonymous caller has aws:PrincipalType Anonymous', () => {
    const policy = resource({ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage', Condition: { StringEquals: { 'aws:PrincipalType': 'Anonymous' } } });
    expect(decide(request(ANONYMOUS), { resourcePolicy: policy })).toBe('Allow');
    expect(decide(request(user('alice')), { resourcePolicy: policy })).toBe('ImplicitDeny');
  });

  it('a service principal is allowed only by a resource policy naming it', () => {
    const policy = resource({ Effect: 'Allow', Principal: { Service: 'codebuild.amazonaws.com' }, Action: ['ecr:BatchGetImage'] });
    expect(decide(request(CODEBUILD), { resourcePolicy: policy })).toBe('Allow');
    expect(decide(request(CODEBUILD), { identityPolicies: [ALLOW_ALL()] })).toBe('ImplicitDeny');
  });
});

/** The repository and registry policies of the Amazon ECR User Guide, with its placeholder accounts. */
describe('ECR documentation examples', () => {
  const SRC = '111122223333';
  const DEST = '444455556666';
  const repoIn = (account: string, name = 'team/app', region = 'us-east-1') => ecrRepositoryArn(region, account, name);
  const ask = (principal: Parameters<typeof request>[0], action: string, set: Partial<PolicySet>, arn = repoIn(SRC), context = {}) =>
    decide(request(principal, action, arn, context), set);
  const srcUser = (name: string) => user(name, {}, SRC);

  const allowPushPull = (): Policy =>
    parsePolicy(
      {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowPushPull',
            Effect: 'Allow',
            Principal: { AWS: [`arn:aws:iam::${SRC}:user/push-pull-user-1`, `arn:aws:iam::${SRC}:user/push-pull-user-2`] },
            Action: ['ecr:BatchGetImage', 'ecr:BatchCheckLayerAvailability', 'ecr:CompleteLayerUpload', 'ecr:GetDownloadUrlForLayer', 'ecr:InitiateLayerUpload', 'ecr:PutImage', 'ecr:UploadLayerPart'],
          },
        ],
      },
      'resource',
    );

  it('allow one or more users: they may push and pull, others may not', () => {
    const set = { resourcePolicy: allowPushPull() };
    expect(ask(srcUser('push-pull-user-1'), 'ecr:PutImage', set)).toBe('Allow');
    expect(ask(srcUser('push-pull-user-2'), 'ecr:BatchGetImage', set)).toBe('Allow');
    expect(ask(srcUser('push-pull-user-2'), 'ecr:DeleteRepository', set)).toBe('ImplicitDeny');
    expect(ask(srcUser('someone-else'), 'ecr:BatchGetImage', set)).toBe('ImplicitDeny');
  });

  const crossAccountPush = (): Policy =>
    resource({
      Sid: 'AllowCrossAccountPush',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${DEST}:root` },
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:CompleteLayerUpload', 'ecr:InitiateLayerUpload', 'ecr:PutImage', 'ecr:UploadLayerPart'],
      Resource: '*',
    });

  it('allow another account: its users push once their own account allows them too', () => {
    const partner = user('ci', {}, DEST);
    const pushIdentity = identity({ Effect: 'Allow', Action: 'ecr:*', Resource: '*' });
    expect(ask(partner, 'ecr:PutImage', { resourcePolicy: crossAccountPush(), identityPolicies: [pushIdentity] })).toBe('Allow');
    expect(ask(partner, 'ecr:PutImage', { resourcePolicy: crossAccountPush() })).toBe('ImplicitDeny');
    expect(ask(partner, 'ecr:BatchGetImage', { resourcePolicy: crossAccountPush(), identityPolicies: [pushIdentity] })).toBe('ImplicitDeny');
  });

  it('pull for some users, everything for an administrator', () => {
    const set = {
      resourcePolicy: resource([
        { Sid: 'AllowPull', Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${SRC}:user/pull-user-1`, `arn:aws:iam::${SRC}:user/pull-user-2`] }, Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] },
        { Sid: 'AllowAll', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${SRC}:user/admin-user` }, Action: ['ecr:*'] },
      ]),
    };
    expect(ask(srcUser('pull-user-1'), 'ecr:GetDownloadUrlForLayer', set)).toBe('Allow');
    expect(ask(srcUser('pull-user-1'), 'ecr:PutImage', set)).toBe('ImplicitDeny');
    expect(ask(srcUser('admin-user'), 'ecr:DeleteRepository', set)).toBe('Allow');
  });

  it('deny all: nobody pulls, not even an administrator, but pushing is untouched', () => {
    const set = {
      identityPolicies: [ALLOW_ALL()],
      resourcePolicy: resource({ Sid: 'DenyPull', Effect: 'Deny', Principal: '*', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }),
    };
    expect(ask(srcUser('admin'), 'ecr:BatchGetImage', set)).toBe('ExplicitDeny');
    expect(ask(srcUser('admin'), 'ecr:PutImage', set)).toBe('Allow');
  });

  it('restrict access to specific IP addresses', () => {
    const policy = parsePolicy(
      { Version: '2012-10-17', Id: 'ECRPolicyId1', Statement: [{ Sid: 'IPAllow', Effect: 'Deny', Principal: '*', Action: 'ecr:*', Condition: { NotIpAddress: { 'aws:SourceIp': '54.240.143.0/24' } } }] },
      'resource',
    );
    const set = { identityPolicies: [ALLOW_ALL()], resourcePolicy: policy };
    expect(ask(srcUser('dev'), 'ecr:PutImage', set, repoIn(SRC), { 'aws:SourceIp': '54.240.143.12' })).toBe('Allow');
    expect(ask(srcUser('dev'), 'ecr:PutImage', set, repoIn(SRC), { 'aws:SourceIp': '192.0.2.1' })).toBe('ExplicitDeny');
  });

  it('deny everyone except one role, with aws:PrincipalArn as IAM recommends over NotPrincipal', () => {
    const set = {
      identityPolicies: [ALLOW_ALL()],
      resourcePolicy: resource({ Sid: 'OnlyDeployRole', Effect: 'Deny', Principal: '*', Action: 'ecr:*', Condition: { ArnNotEquals: { 'aws:PrincipalArn': `arn:aws:iam::${SRC}:role/deploy` } } }),
    };
    expect(ask(session('deploy', 'pipeline-42', SRC), 'ecr:PutImage', set)).toBe('Allow');
    expect(ask(srcUser('dev'), 'ecr:PutImage', set)).toBe('ExplicitDeny');
    expect(ask(ANONYMOUS, 'ecr:BatchGetImage', { resourcePolicy: set.resourcePolicy })).toBe('ExplicitDeny');
  });

  it('deny everyone except one user, with NotPrincipal naming the user and the account', () => {
    const set = {
      identityPolicies: [ALLOW_ALL()],
      resourcePolicy: resource({ Effect: 'Deny', NotPrincipal: { AWS: [`arn:aws:iam::${SRC}:user/Bob`, `arn:aws:iam::${SRC}:root`] }, Action: 'ecr:*' }),
    };
    expect(ask(srcUser('Bob'), 'ecr:PutImage', set)).toBe('Allow');
    expect(ask(srcUser('Alice'), 'ecr:PutImage', set)).toBe('ExplicitDeny');
  });

  it('public read: anyone pulls, nobody anonymous pushes', () => {
    const set = {
      resourcePolicy: resource({ Sid: 'AllowPublicPull', Effect: 'Allow', Principal: '*', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }),
    };
    expect(ask(ANONYMOUS, 'ecr:BatchGetImage', set)).toBe('Allow');
    expect(ask(user('stranger', {}, '999999999999'), 'ecr:BatchGetImage', set)).toBe('ImplicitDeny'); // another account still needs its own identity Allow
    expect(ask(ANONYMOUS, 'ecr:PutImage', set)).toBe('ImplicitDeny');
  });

  it('CodeBuild pulls with a service principal limited by aws:SourceAccount', () => {
    const set = {
      resourcePolicy: resource({
        Sid: 'CodeBuildAccess',
        Effect: 'Allow',
        Principal: { Service: 'codebuild.amazonaws.com' },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Condition: { StringEquals: { 'aws:SourceAccount': SRC } },
      }),
    };
    expect(ask(CODEBUILD, 'ecr:BatchGetImage', set, repoIn(SRC), { 'aws:SourceAccount': SRC })).toBe('Allow');
    expect(ask(CODEBUILD, 'ecr:BatchGetImage', set, repoIn(SRC), { 'aws:SourceAccount': DEST })).toBe('ImplicitDeny');
  });

  it('registry policy: a source account replicates into every repository of the registry', () => {
    const registry = parsePolicy(
      {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'ReplicationAccessCrossAccount', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${SRC}:root` }, Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'], Resource: [`arn:aws:ecr:us-west-2:${DEST}:repository/*`] },
        ],
      },
      'resource',
    );
    const replicator = identity({ Effect: 'Allow', Action: 'ecr:ReplicateImage', Resource: '*' });
    const set = { registryPolicy: registry, identityPolicies: [replicator] };
    expect(ask(session('replication', 's', SRC), 'ecr:ReplicateImage', set, repoIn(DEST, 'mirror/app', 'us-west-2'))).toBe('Allow');
    expect(ask(session('replication', 's', SRC), 'ecr:ReplicateImage', set, repoIn(DEST, 'mirror/app', 'us-east-1'))).toBe('ImplicitDeny');
    expect(ask(session('replication', 's', SRC), 'ecr:PutImage', set, repoIn(DEST, 'mirror/app', 'us-west-2'))).toBe('ImplicitDeny');
  });
});

import {
  ecrRepositoryArn,
  evaluate,
  parsePolicy,
  type AuthorizationRequest,
  type ContextValue,
  type Decision,
  type Policy,
  type PolicySet,
  type RequestPrincipal,
} from '../../../src/auth/policy/index.js';

export const ACCOUNT = '123456789012';
export const OTHER_ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const REPO = ecrRepositoryArn(REGION, ACCOUNT, 'team/app');
export const NOW = new Date('2024-06-01T12:00:00Z');

export function user(name: string, extra: Partial<RequestPrincipal> = {}, account = ACCOUNT): RequestPrincipal {
  return { arn: `arn:aws:iam::${account}:user/${name}`, accountId: account, username: name, userId: `AIDA${name.toUpperCase()}`, ...extra };
}

export function session(role: string, name: string, account = ACCOUNT): RequestPrincipal {
  return { arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}`, accountId: account, userId: `AROAEXAMPLE:${name}` };
}

export const ANONYMOUS: RequestPrincipal = { arn: '*', accountId: '', isAnonymous: true };
export const CODEBUILD: RequestPrincipal = { arn: 'codebuild.amazonaws.com', accountId: '', service: 'codebuild.amazonaws.com' };

export function request(
  principal: RequestPrincipal = user('alice'),
  action = 'ecr:BatchGetImage',
  resource = REPO,
  context: Record<string, ContextValue> = {},
): AuthorizationRequest {
  return { principal, action, resource, context };
}

type Doc = Record<string, unknown>;

export function identity(statement: Doc | Doc[], version = '2012-10-17', name?: string): Policy {
  return parsePolicy({ Version: version, Statement: statement }, 'identity', name === undefined ? {} : { name });
}

export function resource(statement: Doc | Doc[], version = '2012-10-17', name?: string): Policy {
  return parsePolicy({ Version: version, Statement: statement }, 'resource', name === undefined ? {} : { name });
}

export function decide(req: AuthorizationRequest, set: Partial<PolicySet>): Decision {
  return evaluate(req, { identityPolicies: [], ...set }, { now: NOW }).decision;
}

/** Whether an identity Allow on everything, guarded by `condition`, allows the request. */
export function conditionHolds(condition: Doc, context: Record<string, ContextValue>, principal: RequestPrincipal = user('alice'), version = '2012-10-17'): boolean {
  const policy = identity({ Effect: 'Allow', Action: '*', Resource: '*', Condition: condition }, version);
  return decide(request(principal, 'ecr:BatchGetImage', REPO, context), { identityPolicies: [policy] }) === 'Allow';
}

export const ALLOW_ALL = (): Policy => identity({ Sid: 'AdministratorAccess', Effect: 'Allow', Action: '*', Resource: '*' });

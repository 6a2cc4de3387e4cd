/**
 * IAM's decision for one request against the identity policies of the caller and the
 * resource-based policies of the repository and the registry:
 *
 * 1. every statement of every policy is checked; one applies when its Action/NotAction,
 *    Resource/NotResource, Principal/NotPrincipal (resource-based policies) and Condition
 *    all match;
 * 2. an applicable Deny anywhere is an explicit deny, whatever allows;
 * 3. otherwise, within one account, an applicable Allow in an identity policy or in a
 *    resource-based policy allows (the union of both);
 * 4. a caller from another account than the resource's needs both: an Allow from its
 *    identity policies and one from a resource-based policy;
 * 5. otherwise the request is implicitly denied.
 *
 * Anonymous callers have no identity policies: only a resource-based Allow whose Principal
 * is `"*"` (or `{"AWS": "*"}`) can allow them. A NotPrincipal Allow, which AWS warns may
 * reach anonymous users, does not here. Which actions anonymous callers may have at all
 * (reading, never pushing) is the registry's decision, made on top of this one. Service
 * principals are treated alike: only resource-based policies can allow them.
 */
import { parseArn } from './arn.js';
import { evaluateClause, UnresolvedVariable, type ConditionContext } from './conditions.js';
import type { AuthorizationRequest, ContextValue, EvaluationResult, MatchedStatement, Policy, PolicySet, PrincipalSpec, RequestPrincipal, Statement } from './types.js';
import { resolveTemplate, type Template } from './variables.js';
import { arnPatternMatch, globMatch } from './wildcard.js';

interface Entry {
  values: readonly string[];
  /** Given as a single value, so usable as a policy variable (multivalued keys are not). */
  single: boolean;
}

function normalize(value: Exclude<ContextValue, undefined>): Entry {
  if (Array.isArray(value)) return { values: (value as readonly unknown[]).map((v) => String(v)), single: false };
  return { values: [String(value)], single: true };
}

function principalType(p: RequestPrincipal): string | undefined {
  if (p.isAnonymous) return 'Anonymous';
  if (p.service) return undefined;
  if (/^arn:[^:]+:iam::\d+:root$/.test(p.arn)) return 'Account';
  if (/^arn:[^:]+:iam::\d+:user\//.test(p.arn)) return 'User';
  if (/^arn:[^:]+:sts::\d+:assumed-role\//.test(p.arn)) return 'AssumedRole';
  if (/^arn:[^:]+:sts::\d+:federated-user\//.test(p.arn)) return 'FederatedUser';
  return undefined;
}

/** The request context with names lower-cased, the caller's keys first, then what follows from the principal and the clock. */
export function buildContext(request: AuthorizationRequest, now: Date = new Date()): Map<string, Entry> {
  const map = new Map<string, Entry>();
  for (const [key, value] of Object.entries(request.context ?? {})) {
    if (value === undefined || value === null) continue;
    map.set(key.toLowerCase(), normalize(value));
  }
  const fill = (key: string, value: string | number | undefined) => {
    const k = key.toLowerCase();
    if (value !== undefined && value !== '' && !map.has(k)) map.set(k, { values: [String(value)], single: true });
  };
  const p = request.principal;
  if (!p.isAnonymous && !p.service) {
    // For a role session, aws:PrincipalArn is the role's ARN (without its path, which the session ARN does not carry).
    const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(p.arn);
    fill('aws:PrincipalArn', session ? `arn:${session[1]}:iam::${session[2]}:role/${session[3]}` : p.arn);
    fill('aws:PrincipalAccount', p.accountId);
    fill('aws:username', p.username);
    fill('aws:userid', p.userId);
    for (const [k, v] of Object.entries(p.tags ?? {})) fill(`aws:PrincipalTag/${k}`, v);
  }
  fill('aws:PrincipalType', principalType(p));
  fill('aws:CurrentTime', now.toISOString());
  fill('aws:EpochTime', Math.floor(now.getTime() / 1000));
  return map;
}

function conditionContext(map: Map<string, Entry>): ConditionContext {
  return {
    values: (keyLower) => map.get(keyLower)?.values,
    variable: (keyLower) => {
      const entry = map.get(keyLower);
      return entry?.single ? entry.values[0] : undefined;
    },
  };
}

/** A policy's role ARN names its sessions too: `arn:aws:iam::1:role/path/Name` covers `arn:aws:sts::1:assumed-role/Name/session`. */
function arnNamesPrincipal(policyArn: string, principalArn: string): boolean {
  if (policyArn === principalArn) return true;
  const role = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(policyArn);
  const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(principalArn);
  return !!role && !!session && role[1] === session[1] && role[2] === session[2] && role[3] === session[3];
}

function principalMatches(spec: PrincipalSpec, p: RequestPrincipal): boolean {
  if (spec.wildcard) return true;
  if (p.isAnonymous) return spec.aws.some((a) => a.kind === 'any');
  if (p.service) return spec.service.includes(p.service.toLowerCase());
  return spec.aws.some(
    (a) => a.kind === 'any' || (a.kind === 'account' && a.accountId === p.accountId) || (a.kind === 'arn' && arnNamesPrincipal(a.arn, p.arn)),
  );
}

/**
 * Whether a NotPrincipal list exempts the caller. It exempts exactly whom it names: an
 * account entry exempts the account's root, not every principal in it (AWS checks the
 * account, then the user; a user is exempt only when named itself), and a role entry the
 * role, not its sessions (name the session ARN).
 */
function notPrincipalExempts(spec: PrincipalSpec, p: RequestPrincipal): boolean {
  if (spec.wildcard) return true;
  if (p.isAnonymous) return spec.aws.some((a) => a.kind === 'any');
  if (p.service) return spec.service.includes(p.service.toLowerCase());
  return spec.aws.some(
    (a) =>
      a.kind === 'any' ||
      (a.kind === 'account' && new RegExp(`^arn:[^:]+:iam::${a.accountId}:root$`).test(p.arn)) ||
      (a.kind === 'arn' && a.arn === p.arn),
  );
}

function resourceMatches(template: Template, resource: string, ctx: ConditionContext): boolean {
  const pattern = resolveTemplate(template, ctx.variable);
  if (pattern === null) throw new UnresolvedVariable(template.raw);
  return arnPatternMatch(pattern, resource);
}

function applies(stmt: Statement, resourceBased: boolean, request: AuthorizationRequest, actionLower: string, ctx: ConditionContext): boolean {
  if (stmt.action && !stmt.action.some((a) => globMatch(a.pattern, actionLower))) return false;
  if (stmt.notAction?.some((a) => globMatch(a.pattern, actionLower))) return false;
  const p = request.principal;
  if (resourceBased) {
    if (stmt.principal && !principalMatches(stmt.principal, p)) return false;
    if (stmt.notPrincipal) {
      if (notPrincipalExempts(stmt.notPrincipal, p)) return false;
      if ((p.isAnonymous || p.service) && stmt.effect === 'Allow') return false;
    }
  }
  try {
    if (stmt.resource && !stmt.resource.some((t) => resourceMatches(t, request.resource, ctx))) return false;
    if (stmt.notResource?.some((t) => resourceMatches(t, request.resource, ctx))) return false;
    for (const clause of stmt.conditions) if (!evaluateClause(clause, ctx)) return false;
  } catch (err) {
    // "If AWS cannot resolve a variable, this might cause the entire statement to be invalid."
    if (err instanceof UnresolvedVariable) return false;
    throw err;
  }
  return true;
}

export interface EvaluateOptions {
  /** The clock for `aws:CurrentTime` / `aws:EpochTime` when the context does not give them. */
  now?: Date;
}

/** Decides a request; see the module comment for the rules. Throws a TypeError when a policy is given in the wrong place. */
export function evaluate(request: AuthorizationRequest, policies: PolicySet, options: EvaluateOptions = {}): EvaluationResult {
  const ctx = conditionContext(buildContext(request, options.now));
  const actionLower = request.action.toLowerCase();
  const p = request.principal;
  const noIdentity = p.isAnonymous === true || !!p.service;
  const matched: MatchedStatement[] = [];
  let denied = false;
  let identityAllows = false;
  let resourceAllows = false;

  const check = (policy: Policy, label: string, resourceBased: boolean) => {
    const expected = resourceBased ? 'resource' : 'identity';
    if (policy.kind !== expected) throw new TypeError(`${label} is a ${policy.kind}-based policy; a ${expected}-based one is needed here`);
    for (const stmt of policy.statements) {
      if (noIdentity && !resourceBased && stmt.effect === 'Allow') continue;
      if (!applies(stmt, resourceBased, request, actionLower, ctx)) continue;
      matched.push({ policy: policy.name ?? label, ...(stmt.sid !== undefined ? { sid: stmt.sid } : {}), statement: stmt.index, effect: stmt.effect });
      if (stmt.effect === 'Deny') denied = true;
      else if (resourceBased) resourceAllows = true;
      else identityAllows = true;
    }
  };

  policies.identityPolicies.forEach((policy, i) => check(policy, `identityPolicies[${i}]`, false));
  if (policies.resourcePolicy) check(policies.resourcePolicy, 'resourcePolicy', true);
  if (policies.registryPolicy) check(policies.registryPolicy, 'registryPolicy', true);

  if (denied) return { decision: 'ExplicitDeny', matched };
  if (noIdentity) return { decision: resourceAllows ? 'Allow' : 'ImplicitDeny', matched };
  const owner = parseArn(request.resource)?.account;
  const crossAccount = !!owner && /^\d{12}$/.test(owner) && !!p.accountId && owner !== p.accountId;
  const allowed = crossAccount ? identityAllows && resourceAllows : identityAllows || resourceAllows;
  return { decision: allowed ? 'Allow' : 'ImplicitDeny', matched };
}

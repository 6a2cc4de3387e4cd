import type { ConditionClause } from './conditions.js';
import type { Template } from './variables.js';
import type { Pattern } from './wildcard.js';

export type PolicyKind = 'identity' | 'resource';
export type PolicyVersion = '2012-10-17' | '2008-10-17';
export type Effect = 'Allow' | 'Deny';

/** One entry of a Principal's `AWS` list. */
export type AwsPrincipal =
  /** `"*"`: every principal, anonymous callers included. */
  | { readonly kind: 'any' }
  /** `"123456789012"` or `"arn:aws:iam::123456789012:root"`: every principal of that account. */
  | { readonly kind: 'account'; readonly accountId: string; readonly raw: string }
  /** A user, role, assumed-role session or federated user ARN, matched exactly (case-sensitive). */
  | { readonly kind: 'arn'; readonly arn: string };

export interface PrincipalSpec {
  /** `"Principal": "*"`. */
  readonly wildcard: boolean;
  readonly aws: readonly AwsPrincipal[];
  /** Service principals such as `codebuild.amazonaws.com`. */
  readonly service: readonly string[];
}

export interface ActionPattern {
  readonly raw: string;
  /** Lower-cased: actions compare without regard to case. */
  readonly pattern: Pattern;
}

export interface Statement {
  /** Position in the document's Statement list. */
  readonly index: number;
  /** Where it sits in the document, e.g. `Statement[2]`. */
  readonly path: string;
  readonly sid?: string;
  readonly effect: Effect;
  readonly principal?: PrincipalSpec;
  readonly notPrincipal?: PrincipalSpec;
  readonly action?: readonly ActionPattern[];
  readonly notAction?: readonly ActionPattern[];
  /** Absent in a resource-based policy that names no resource: it covers the resource it is attached to. */
  readonly resource?: readonly Template[];
  readonly notResource?: readonly Template[];
  readonly conditions: readonly ConditionClause[];
}

/** A validated, compiled policy document. Build with `parsePolicy`. */
export interface Policy {
  readonly kind: PolicyKind;
  readonly version: PolicyVersion;
  /** The document's `Id` element. */
  readonly id?: string;
  /** A label for explanations (`user/alice/inline/ci`), from `parsePolicy`'s options. */
  readonly name?: string;
  readonly statements: readonly Statement[];
}

export type ContextValue = string | readonly string[] | boolean | number | undefined;

export interface RequestPrincipal {
  /** `arn:aws:iam::123456789012:user/alice`; ignored for anonymous callers. */
  arn: string;
  accountId: string;
  /** The unique id (`AIDA...`), for `aws:userid`. */
  userId?: string;
  /** The friendly name, for `aws:username`. */
  username?: string;
  /** For `aws:PrincipalTag/<key>`. */
  tags?: Record<string, string>;
  /** An unauthenticated caller: only a resource-based policy with Principal `"*"` can allow it. */
  isAnonymous?: boolean;
  /** Set when the caller is an AWS service principal (`codebuild.amazonaws.com`): matched by `{"Service": ...}`. */
  service?: string;
}

export interface AuthorizationRequest {
  principal: RequestPrincipal;
  /** `ecr:BatchGetImage`. */
  action: string;
  /** `arn:aws:ecr:us-east-1:123456789012:repository/team/app`. */
  resource: string;
  /**
   * Condition keys (case-insensitive names): `aws:SourceIp`, `aws:CurrentTime`,
   * `aws:SecureTransport`, `ecr:ResourceTag/<key>`, ... Keys derived from the principal
   * (`aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:username`, `aws:userid`,
   * `aws:PrincipalTag/<key>`, `aws:PrincipalType`) and the clock (`aws:CurrentTime`,
   * `aws:EpochTime`) are filled in when absent. An `undefined` value means absent.
   */
  context?: Record<string, ContextValue>;
}

export interface PolicySet {
  identityPolicies: readonly Policy[];
  /** The repository policy. */
  resourcePolicy?: Policy;
  /** The registry policy. */
  registryPolicy?: Policy;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

export interface MatchedStatement {
  /** The policy's name, or where it was given: `identityPolicies[0]`, `resourcePolicy`, `registryPolicy`. */
  policy: string;
  sid?: string;
  /** Position in the policy's Statement list. */
  statement: number;
  effect: Effect;
}

export interface EvaluationResult {
  decision: Decision;
  /** Every statement that applied to the request, Allow and Deny, in evaluation order. */
  matched: MatchedStatement[];
}

/**
 * IAM policy evaluation for Wharf: Amazon ECR's access-control model (identity policies,
 * repository policies, the registry policy) as IAM documents it. Pure and self-contained:
 * no I/O, no state.
 */
export { PolicyValidationError } from './errors.js';
export { parsePolicy, type ParseOptions } from './parse.js';
export { evaluate, type EvaluateOptions } from './evaluate.js';
export { matchesAction, matchesArn } from './wildcard.js';
export { ecrRepositoryArn, parseArn, type Arn } from './arn.js';
export { CONDITION_OPERATORS, type ConditionClause, type SetOperator } from './conditions.js';
export type {
  ActionPattern,
  AuthorizationRequest,
  AwsPrincipal,
  ContextValue,
  Decision,
  Effect,
  EvaluationResult,
  MatchedStatement,
  Policy,
  PolicyKind,
  PolicySet,
  PolicyVersion,
  PrincipalSpec,
  RequestPrincipal,
  Statement,
} from './types.js';

/**
 * A policy document that IAM would refuse. `message` reads like AWS's
 * (`MalformedPolicyDocument: Statement[1].Effect must be "Allow" or "Deny"`) and `path`
 * names the offending element (`Statement[1].Effect`; empty for the document itself).
 */
export class PolicyValidationError extends Error {
  readonly code = 'MalformedPolicyDocument';

  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`MalformedPolicyDocument: ${path ? `${path} ${problem}` : problem}`);
    this.name = 'PolicyValidationError';
  }
}

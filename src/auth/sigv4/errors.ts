// The errors a SigV4 check answers with, worded as AWS words them.
//
// Two families of names exist. AWS JSON services (ECR's `AmazonEC2ContainerRegistry_V20150921`
// is one: awsJson1_1 behind the Coral front end) answer in `__type` with
// MissingAuthenticationTokenException / IncompleteSignatureException / InvalidSignatureException /
// UnrecognizedClientException. Query/XML services (IAM, STS) answer in `<Code>` with
// SignatureDoesNotMatch and InvalidClientTokenId for the last two. `protocol` picks the family.
//
// Status codes. The generic "Common Errors" pages of the API references list
// MissingAuthenticationToken 403, IncompleteSignature 400, InvalidClientTokenId 403 (and
// SignatureDoesNotMatch is 403 in the query services). What ECR itself sends back for the JSON
// names is 400 for every one of them, as seen in the wild:
//   - `POST https://ecr.us-east-1.amazonaws.com` resulted in a `400 Bad Request` response:
//     {"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}
//   - AmazonECRException: Missing Authentication Token (Service: AmazonECR; Status Code: 400;
//     Error Code: MissingAuthenticationTokenException)
//   - ECR GetAuthorizationToken: InvalidSignatureException: Signature expired: ... status code: 400
// Coral JSON services (DynamoDB, ECS, EMR, CloudWatch Logs, Cognito) behave the same way. So the
// JSON family uses 400 throughout and the query family the documented statuses. Clients do not
// branch on the status for these (botocore and the JS SDK read `__type`), so either would parse.

export type SigV4ErrorType =
  | 'MissingAuthenticationTokenException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'UnrecognizedClientException'
  | 'SignatureDoesNotMatch'
  | 'InvalidClientTokenId';

export class SigV4Error extends Error {
  override readonly name = 'SigV4Error';
  /**
   * Server-side diagnostics (the canonical request and string to sign we computed, or why a
   * payload hash was refused). For logs only: it is never part of `message`.
   */
  detail?: string;

  constructor(
    readonly type: SigV4ErrorType,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Which wire family of error names (and statuses) to answer with. */
export type SigV4Protocol = 'json' | 'query';

type Kind = 'missing' | 'incomplete' | 'signature' | 'unknownKey';

const TYPES: Record<SigV4Protocol, Record<Kind, SigV4ErrorType>> = {
  json: {
    missing: 'MissingAuthenticationTokenException',
    incomplete: 'IncompleteSignatureException',
    signature: 'InvalidSignatureException',
    unknownKey: 'UnrecognizedClientException',
  },
  query: {
    missing: 'MissingAuthenticationTokenException',
    incomplete: 'IncompleteSignatureException',
    signature: 'SignatureDoesNotMatch',
    unknownKey: 'InvalidClientTokenId',
  },
};

/** The HTTP status each kind of failure is answered with, per protocol family (see above). */
export const SIGV4_STATUS: Record<SigV4Protocol, Record<Kind, number>> = {
  json: { missing: 400, incomplete: 400, signature: 400, unknownKey: 400 },
  query: { missing: 403, incomplete: 400, signature: 403, unknownKey: 403 },
};

export function sigv4Error(protocol: SigV4Protocol, kind: Kind, message: string, detail?: string): SigV4Error {
  const err = new SigV4Error(TYPES[protocol][kind], message, SIGV4_STATUS[protocol][kind]);
  if (detail !== undefined) err.detail = detail;
  return err;
}

/** AWS's wording, verbatim. Functions take the parts AWS interpolates. */
export const MESSAGES = {
  missingToken: 'Missing Authentication Token',
  unsupportedAlgorithm: (alg: string) => `Unsupported AWS 'algorithm': '${alg}'.`,
  notKeyValue: (param: string, header: string) =>
    `'${param}' not a valid key=value pair (missing equal-sign) in Authorization header: '${header}'`,
  requiresCredential: "Authorization header requires 'Credential' parameter.",
  requiresSignature: "Authorization header requires 'Signature' parameter.",
  requiresSignedHeaders: "Authorization header requires 'SignedHeaders' parameter.",
  requiresDate: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
  hostMustBeSigned: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
  headerMustBeSigned: (name: string) => `'${name}' must be a 'SignedHeader' in the AWS Authorization.`,
  badDate: (value: string) =>
    `Date must be in ISO-8601 'basic format'. Got '${value}'. See http://en.wikipedia.org/wiki/ISO_8601`,
  expired: (req: string, limit: string, now: string, minutes: string) =>
    `Signature expired: ${req} is now earlier than ${limit} (${now} - ${minutes} min.)`,
  notYetCurrent: (req: string, limit: string, now: string, minutes: string) =>
    `Signature not yet current: ${req} is still later than ${limit} (${now} + ${minutes} min.)`,
  credentialShape: (credential: string) =>
    `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
  // The scope complaints are each followed by a space and run together, as AWS sends them
  // (e.g. "Credential should be scoped to correct service: 'dynamodb'. ").
  scopeRegion: (region: string) => `Credential should be scoped to a valid region, not '${region}'. `,
  scopeService: (expected: string) => `Credential should be scoped to correct service: '${expected}'. `,
  scopeTerminator: (term: string) => `Credential should be scoped with a valid terminator: 'aws4_request', not '${term}'. `,
  scopeDate: (scopeDate: string, reqDate: string, stamp: string) =>
    `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${reqDate}', from '${stamp}'. `,
  badContentSha256: 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.',
  unknownKey: 'The security token included in the request is invalid.',
  signatureMismatch:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
} as const;

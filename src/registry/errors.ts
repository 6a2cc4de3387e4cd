/**
 * Domain errors. Each surface maps them to its own wire format: /v2 answers OCI
 * error bodies with the spec's status codes (server/distribution/oci-errors.ts); the
 * ECR API maps the same codes to its exception types (server/ecr-api/ecr-errors.ts).
 */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  /** A chunk that does not start where the upload stands, or an unsatisfiable read range. */
  | 'RANGE_INVALID'
  /** Another request is writing the same upload. */
  | 'UPLOAD_BUSY'
  | 'MANIFEST_TOO_LARGE'
  /** An index names a child manifest the repository lacks (a bad request, unlike a GET miss). */
  | 'MANIFEST_REFERENCE_UNKNOWN'
  | 'PAGINATION_INVALID'
  /** No such endpoint. */
  | 'NOT_FOUND'
  /** A failure of the registry itself (database, storage); details go to the log. */
  | 'INTERNAL'
  // Codes below come from the ECR API's operations; /v2 reaches only TAG_IMMUTABLE.
  /** Pushing a tag that already names another manifest, where the repository's settings make it immutable. */
  | 'TAG_IMMUTABLE'
  | 'REPOSITORY_ALREADY_EXISTS'
  /** Deleting a repository that still holds images, without force. */
  | 'REPOSITORY_NOT_EMPTY'
  /** PutImage of a manifest (and tag) the repository already holds. */
  | 'IMAGE_ALREADY_EXISTS'
  /** PutImage's imageDigest differs from the manifest's digest. */
  | 'IMAGE_DIGEST_MISMATCH'
  /** A finished layer upload whose bytes do not match the digest given. */
  | 'LAYER_INVALID'
  /** Completing an upload of a layer the repository already holds. */
  | 'LAYER_ALREADY_EXISTS'
  /** Completing an upload that received no bytes. */
  | 'UPLOAD_EMPTY'
  | 'REPOSITORY_POLICY_NOT_FOUND'
  | 'REGISTRY_POLICY_NOT_FOUND'
  /** The repository has no lifecycle policy (Get/Delete, or a preview of the stored one). */
  | 'LIFECYCLE_POLICY_NOT_FOUND'
  /** No lifecycle policy preview was started for the repository. */
  | 'LIFECYCLE_PREVIEW_NOT_FOUND'
  /** A preview of the repository is being computed (by another request or node). */
  | 'LIFECYCLE_PREVIEW_IN_PROGRESS'
  /** A request parameter the operation cannot act on (a malformed policy, a forged page token, ...). */
  | 'PARAMETER_INVALID'
  /** A resource tag key or value that breaks the tagging rules. */
  | 'RESOURCE_TAG_INVALID'
  | 'TOO_MANY_TAGS';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

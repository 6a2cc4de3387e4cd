/**
 * Domain errors. Each surface maps them to its own wire format: /v2 answers OCI
 * error bodies with the spec's status codes; the ECR API will map the same codes
 * to its exception types.
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
  | 'INTERNAL';

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

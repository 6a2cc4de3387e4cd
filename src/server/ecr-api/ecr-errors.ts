import type { FastifyReply } from 'fastify';
import { EcrApiError } from '../../ecr-api/errors.js';
import { exceptionStatus } from '../../ecr-api/model.js';
import { RegistryError, type RegistryErrorCode } from '../../registry/errors.js';

/**
 * Domain error -> ECR exception type. One table for the whole ECR API (the /v2 one is
 * distribution/oci-errors.ts); statuses come from the ECR model (400, 500 for ServerException).
 */
const ECR_TYPES: Record<RegistryErrorCode, string> = {
  BLOB_UNKNOWN: 'LayersNotFoundException',
  BLOB_UPLOAD_INVALID: 'InvalidLayerPartException',
  BLOB_UPLOAD_UNKNOWN: 'UploadNotFoundException',
  DIGEST_INVALID: 'InvalidParameterException',
  MANIFEST_BLOB_UNKNOWN: 'LayersNotFoundException',
  MANIFEST_INVALID: 'InvalidParameterException',
  MANIFEST_UNKNOWN: 'ImageNotFoundException',
  NAME_INVALID: 'InvalidParameterException',
  NAME_UNKNOWN: 'RepositoryNotFoundException',
  SIZE_INVALID: 'InvalidParameterException',
  TAG_INVALID: 'InvalidParameterException',
  UNAUTHORIZED: 'UnrecognizedClientException',
  DENIED: 'AccessDeniedException',
  UNSUPPORTED: 'UnsupportedOperationException',
  TOOMANYREQUESTS: 'ThrottlingException',
  RANGE_INVALID: 'InvalidLayerPartException',
  UPLOAD_BUSY: 'InvalidLayerPartException',
  MANIFEST_TOO_LARGE: 'InvalidParameterException',
  MANIFEST_REFERENCE_UNKNOWN: 'ReferencedImagesNotFoundException',
  PAGINATION_INVALID: 'InvalidParameterException',
  NOT_FOUND: 'UnknownOperationException',
  INTERNAL: 'ServerException',
  TAG_IMMUTABLE: 'ImageTagAlreadyExistsException',
  REPOSITORY_ALREADY_EXISTS: 'RepositoryAlreadyExistsException',
  REPOSITORY_NOT_EMPTY: 'RepositoryNotEmptyException',
  IMAGE_ALREADY_EXISTS: 'ImageAlreadyExistsException',
  IMAGE_DIGEST_MISMATCH: 'ImageDigestDoesNotMatchException',
  LAYER_INVALID: 'InvalidLayerException',
  LAYER_ALREADY_EXISTS: 'LayerAlreadyExistsException',
  UPLOAD_EMPTY: 'EmptyUploadException',
  REPOSITORY_POLICY_NOT_FOUND: 'RepositoryPolicyNotFoundException',
  REGISTRY_POLICY_NOT_FOUND: 'RegistryPolicyNotFoundException',
  LIFECYCLE_POLICY_NOT_FOUND: 'LifecyclePolicyNotFoundException',
  LIFECYCLE_PREVIEW_NOT_FOUND: 'LifecyclePolicyPreviewNotFoundException',
  LIFECYCLE_PREVIEW_IN_PROGRESS: 'LifecyclePolicyPreviewInProgressException',
  PARAMETER_INVALID: 'InvalidParameterException',
  RESOURCE_TAG_INVALID: 'InvalidTagParameterException',
  TOO_MANY_TAGS: 'TooManyTagsException',
};

/** Domain messages written for /v2 clients, reworded the way ECR reports the same problem. */
function messageOf(err: RegistryError): string {
  switch (err.code) {
    case 'NAME_INVALID':
      return `Invalid parameter at 'repositoryName' failed to satisfy constraint: '${err.message}'`;
    case 'TAG_INVALID':
      return `Invalid parameter at 'imageTag' failed to satisfy constraint: '${err.message}'`;
    case 'MANIFEST_INVALID':
    case 'MANIFEST_TOO_LARGE':
      return `Invalid parameter at 'imageManifest' failed to satisfy constraint: '${err.message}'`;
    case 'DIGEST_INVALID':
      return `Invalid parameter at 'imageDigest' failed to satisfy constraint: '${err.message}'`;
    case 'INTERNAL':
      return 'An internal error occurred; the request id identifies it in the server log';
    default:
      return err.message;
  }
}

/** The ECR exception for a domain error. */
export function ecrErrorOf(err: RegistryError, registryId: string): EcrApiError {
  const type = ECR_TYPES[err.code];
  const fields: Record<string, unknown> = {};
  if (type === 'InvalidLayerPartException') {
    const d = (err.detail ?? {}) as { size?: number; uploadId?: string; repositoryName?: string };
    fields.registryId = registryId;
    if (d.repositoryName !== undefined) fields.repositoryName = d.repositoryName;
    if (d.uploadId !== undefined) fields.uploadId = d.uploadId;
    fields.lastValidByteReceived = Math.max((d.size ?? 0) - 1, 0);
  }
  return new EcrApiError(type, messageOf(err), exceptionStatus(type) ?? (err.code === 'INTERNAL' ? 500 : 400), fields);
}

export function ecrTypeOf(code: RegistryErrorCode): string {
  return ECR_TYPES[code];
}

/** Writes `{"__type": ..., "message": ...}` as AWS JSON 1.1 services do (the SDKs read `__type`). */
export function sendEcrError(reply: FastifyReply, err: EcrApiError, requestId: string): FastifyReply {
  return reply
    .code(err.status)
    .header('content-type', 'application/x-amz-json-1.1')
    .header('x-amzn-requestid', requestId)
    .header('x-amzn-errortype', err.type)
    .send(Buffer.from(JSON.stringify({ __type: err.type, message: err.message, ...err.fields })));
}

import type { FastifyReply } from 'fastify';
import { RegistryError, type RegistryErrorCode } from '../../registry/errors.js';

/** Domain error -> the spec's wire code and HTTP status. One table for the whole /v2 surface. */
const WIRE: Record<RegistryErrorCode, { code: string; status: number }> = {
  BLOB_UNKNOWN: { code: 'BLOB_UNKNOWN', status: 404 },
  BLOB_UPLOAD_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 400 },
  BLOB_UPLOAD_UNKNOWN: { code: 'BLOB_UPLOAD_UNKNOWN', status: 404 },
  DIGEST_INVALID: { code: 'DIGEST_INVALID', status: 400 },
  MANIFEST_BLOB_UNKNOWN: { code: 'MANIFEST_BLOB_UNKNOWN', status: 400 },
  MANIFEST_INVALID: { code: 'MANIFEST_INVALID', status: 400 },
  MANIFEST_UNKNOWN: { code: 'MANIFEST_UNKNOWN', status: 404 },
  MANIFEST_REFERENCE_UNKNOWN: { code: 'MANIFEST_UNKNOWN', status: 400 },
  MANIFEST_TOO_LARGE: { code: 'SIZE_INVALID', status: 413 },
  NAME_INVALID: { code: 'NAME_INVALID', status: 400 },
  NAME_UNKNOWN: { code: 'NAME_UNKNOWN', status: 404 },
  SIZE_INVALID: { code: 'SIZE_INVALID', status: 400 },
  TAG_INVALID: { code: 'TAG_INVALID', status: 400 },
  UNAUTHORIZED: { code: 'UNAUTHORIZED', status: 401 },
  DENIED: { code: 'DENIED', status: 403 },
  UNSUPPORTED: { code: 'UNSUPPORTED', status: 405 },
  TOOMANYREQUESTS: { code: 'TOOMANYREQUESTS', status: 429 },
  RANGE_INVALID: { code: 'BLOB_UPLOAD_INVALID', status: 416 },
  UPLOAD_BUSY: { code: 'BLOB_UPLOAD_INVALID', status: 416 },
  PAGINATION_INVALID: { code: 'PAGINATION_NUMBER_INVALID', status: 400 },
  NOT_FOUND: { code: 'NOT_FOUND', status: 404 },
  INTERNAL: { code: 'UNKNOWN', status: 500 },
  TAG_IMMUTABLE: { code: 'TAG_INVALID', status: 400 },
  // ECR API codes no /v2 request produces; mapped for completeness.
  REPOSITORY_ALREADY_EXISTS: { code: 'DENIED', status: 409 },
  REPOSITORY_NOT_EMPTY: { code: 'DENIED', status: 409 },
  IMAGE_ALREADY_EXISTS: { code: 'MANIFEST_INVALID', status: 409 },
  IMAGE_DIGEST_MISMATCH: { code: 'DIGEST_INVALID', status: 400 },
  LAYER_INVALID: { code: 'DIGEST_INVALID', status: 400 },
  LAYER_ALREADY_EXISTS: { code: 'BLOB_UPLOAD_INVALID', status: 409 },
  UPLOAD_EMPTY: { code: 'BLOB_UPLOAD_INVALID', status: 400 },
  REPOSITORY_POLICY_NOT_FOUND: { code: 'NOT_FOUND', status: 404 },
  REGISTRY_POLICY_NOT_FOUND: { code: 'NOT_FOUND', status: 404 },
  LIFECYCLE_POLICY_NOT_FOUND: { code: 'NOT_FOUND', status: 404 },
  LIFECYCLE_PREVIEW_NOT_FOUND: { code: 'NOT_FOUND', status: 404 },
  LIFECYCLE_PREVIEW_IN_PROGRESS: { code: 'TOOMANYREQUESTS', status: 409 },
  PARAMETER_INVALID: { code: 'UNSUPPORTED', status: 400 },
  RESOURCE_TAG_INVALID: { code: 'UNSUPPORTED', status: 400 },
  TOO_MANY_TAGS: { code: 'UNSUPPORTED', status: 400 },
};

export function wireError(code: RegistryErrorCode): { code: string; status: number } {
  return WIRE[code];
}

export function sendOciError(reply: FastifyReply, err: RegistryError): FastifyReply {
  const { code, status } = WIRE[err.code];
  const body = { errors: [{ code, message: err.message, ...(err.detail === undefined ? {} : { detail: err.detail }) }] };
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError;
}

/**
 * An ECR API error as the wire carries it: `{"__type": type, "message": message, ...fields}`
 * with an HTTP status. The AWS SDKs surface `type` as the error's name.
 */
export class EcrApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    /** Extra members of the exception shape (InvalidLayerPartException's lastValidByteReceived, ...). */
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}

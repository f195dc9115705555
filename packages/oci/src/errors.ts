/**
 * The OCI distribution-spec error codes, declared once with their HTTP status.
 * Codes: distribution-spec v1.1.1 "Error Codes" (code-1 … code-14); statuses follow the spec's
 * per-endpoint sections and CNCF Distribution's `registry/api/v2/errors.go` where the spec is silent.
 */
export const OCI_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest did not match uploaded content" },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: "blob unknown to registry" },
  MANIFEST_INVALID: { status: 400, message: "manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown to registry" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "provided length did not match content length" },
  UNAUTHORIZED: { status: 401, message: "authentication required" },
  DENIED: { status: 403, message: "requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "the operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "too many requests" },
  /** Distribution's `UNAVAILABLE`: a write refused because it cannot be done safely now. */
  UNAVAILABLE: { status: 503, message: "service unavailable" },
} as const satisfies Record<string, { status: number; message: string }>;

export type OciErrorCode = keyof typeof OCI_ERRORS;

export const OCI_ERROR_CODES = Object.keys(OCI_ERRORS) as OciErrorCode[];

export interface OciErrorOptions {
  /** Free-form structured detail returned to the client (never secrets). */
  detail?: unknown;
  /** Overrides the table's status where the spec asks for another one (416 on chunk order, 413). */
  status?: number;
  cause?: unknown;
}

/** A spec error: matched by `code`, turned into `{"errors":[…]}` by one mapper in the app. */
export class OciError extends Error {
  override readonly name = "OciError";
  readonly code: OciErrorCode;
  readonly status: number;
  readonly detail: unknown;

  constructor(code: OciErrorCode, message?: string, options: OciErrorOptions = {}) {
    super(message ?? OCI_ERRORS[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? OCI_ERRORS[code].status;
    this.detail = options.detail ?? {};
  }
}

export function isOciError(err: unknown): err is OciError {
  return err instanceof OciError;
}

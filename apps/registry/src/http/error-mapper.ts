import type { ServerResponse } from "node:http";
import { OciError } from "@berth/oci";
import { LockUnavailableError } from "@berth/storage";
import type { Logger } from "@berth/telemetry";
import { AuthenticationRequired, BASIC_CHALLENGE } from "../auth/challenge.js";
import { isDrainingBody } from "./body.js";

/** The spec's error body (distribution-spec "Error Codes"): `{"errors":[{code,message,detail}]}`. */
export function errorBody(err: OciError): string {
  return JSON.stringify({ errors: [{ code: err.code, message: err.message, detail: err.detail }] });
}

/**
 * The one place typed errors become HTTP responses. OciError → its status and code; anything
 * else is a server fault: logged with its stack, answered 500 without internals.
 */
export function sendError(res: ServerResponse, thrown: unknown, log: Logger): void {
  const err = fromStorage(thrown, log);
  if (res.headersSent) {
    log.warn({ err }, "error after the response started; closing the connection");
    res.destroy();
    return;
  }
  let status: number;
  let body: string;
  if (err instanceof OciError) {
    status = err.status;
    body = errorBody(err);
    if (status === 401) res.setHeader("WWW-Authenticate", err instanceof AuthenticationRequired ? err.challenge : BASIC_CHALLENGE);
    if (status === 503) res.setHeader("Retry-After", "1");
    const retryAfter = (err.detail as { retryAfter?: unknown } | undefined)?.retryAfter;
    if (status === 429 && typeof retryAfter === "number") res.setHeader("Retry-After", String(retryAfter));
  } else if (isClientAbort(err)) {
    log.debug({ err }, "client went away");
    res.destroy();
    return;
  } else {
    log.error({ err }, "request failed");
    status = 500;
    body = JSON.stringify({ errors: [{ code: "UNKNOWN", message: "internal server error", detail: {} }] });
  }
  // An unauthenticated client gets no second request on this connection, and a body we did not
  // read is not read on: the answer closes the connection (issue 16: stalled 401s held 4,223 fds).
  // An oversized manifest body is the exception: it is still being drained (body.ts), and closing
  // under a client that is still writing would replace its 413 by EPIPE or a reset.
  if (status === 401 || (!res.req.complete && !isDrainingBody(res.req))) res.setHeader("Connection", "close");
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The repository's write lock could not be taken (held past the wait by another replica, or the
 * shared filesystem failed): nothing was written, the client may retry.
 */
function fromStorage(err: unknown, log: Logger): unknown {
  if (!(err instanceof LockUnavailableError)) return err;
  log.warn({ err, lock: err.path, reason: err.reason }, "write refused: repository lock unavailable");
  const message = err.reason === "timeout" ? "the repository is locked by another writer; retry" : "the repository lock cannot be taken; retry";
  return new OciError("UNAVAILABLE", message, { detail: { reason: err.reason } });
}

function isClientAbort(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ECONNABORTED";
}

import { type DeliveryError, PermanentDeliveryError, TransientDeliveryError } from "@berth/delivery";
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import {
  AuthorizationError,
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  InvalidSubjectError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
  UserAuthenticationExpiredError,
} from "@nats-io/nats-core";
import { NatsCredentialsFileError } from "./nats-auth.js";

/**
 * Turns what the NATS client throws into Berth's delivery errors, by class and code only.
 * Messages built here name the sink, subject and servers, never credentials.
 */

export interface PublishContext {
  sink: string;
  subject: string;
  servers: string;
}

/** Why a connection could not be opened. Always transient: nothing is lost by retrying. */
export function connectFailure(err: unknown, sink: string, servers: string): TransientDeliveryError {
  if (err instanceof NatsCredentialsFileError) {
    return new TransientDeliveryError("credentials", `sink "${sink}": ${err.message}`, { cause: err });
  }
  if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) {
    return new TransientDeliveryError(
      "auth",
      `sink "${sink}": NATS ${servers} rejected the sink's credentials (${err.name})`,
      { cause: err },
    );
  }
  return new TransientDeliveryError(
    "unreachable",
    `sink "${sink}": cannot connect to NATS ${servers}: ${errorSummary(err)}`,
    { cause: err },
  );
}

/** No stream captures the subject: retrying cannot help until an operator creates one. */
export function noStreamError(ctx: PublishContext, cause?: unknown): PermanentDeliveryError {
  return new PermanentDeliveryError(
    "no_stream",
    `sink "${ctx.sink}": no JetStream stream captures subject "${ctx.subject}" on NATS ${ctx.servers}; ` +
      `create a stream for the subject or set jetstream: false`,
    { cause },
  );
}

/** Why one publish (core + flush, or JetStream + ack) failed. */
export function publishFailure(err: unknown, ctx: PublishContext): DeliveryError {
  if (err instanceof TransientDeliveryError || err instanceof PermanentDeliveryError) return err;
  const where = `sink "${ctx.sink}" subject "${ctx.subject}"`;
  if (isNoStream(err)) return noStreamError(ctx, err);
  if (inChain(err, PermissionViolationError)) {
    return new PermanentDeliveryError(
      "permission_denied",
      `${where}: the NATS account may not publish to this subject`,
      { cause: err },
    );
  }
  if (inChain(err, TimeoutError)) {
    return new TransientDeliveryError("timeout", `${where}: no answer from NATS ${ctx.servers} in time`, {
      cause: err,
    });
  }
  if (
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof ConnectionError ||
    // A RequestError that is not "no responders": the link dropped before the answer (the
    // client fails pending flushes and requests when it redials).
    err instanceof RequestError
  ) {
    return new TransientDeliveryError("unreachable", `${where}: connection to NATS ${ctx.servers} lost`, {
      cause: err,
    });
  }
  if (err instanceof InvalidSubjectError || err instanceof InvalidArgumentError) {
    // Invalid subject or a message over the server's max_payload: the same message fails again.
    return new PermanentDeliveryError("invalid_message", `${where}: ${err.message}`, { cause: err });
  }
  if (err instanceof JetStreamApiError) {
    return new TransientDeliveryError("jetstream_api", `${where}: JetStream error ${err.code}`, { cause: err });
  }
  return new TransientDeliveryError("nats_error", `${where}: ${errorSummary(err)}`, { cause: err });
}

/**
 * A JetStream publish is a request to the subject: a 503 "no responders" means no stream listens
 * on it (the client wraps it as JetStreamNotEnabled, with the RequestError as cause); the API
 * codes say the stream or JetStream for the account does not exist.
 */
export function isNoStream(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof NoRespondersError) return true;
    if (e instanceof RequestError && e.isNoResponders()) return true;
    if (
      e instanceof JetStreamApiError &&
      (e.code === JetStreamApiCodes.StreamNotFound || e.code === JetStreamApiCodes.JetStreamNotEnabledForAccount)
    ) {
      return true;
    }
  }
  return false;
}

/** The error or one of its causes (a few levels) is of this class. */
function inChain(err: unknown, type: abstract new (...args: never[]) => Error): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof type) return true;
    e = (e as Error).cause;
  }
  return false;
}

function errorSummary(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? `${code} ${err.message}` : `${err.name}: ${err.message}`;
}

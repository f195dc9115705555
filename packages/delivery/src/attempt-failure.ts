/**
 * What one failed attempt means: transient (retry) or permanent (dead-letter now), decided by the
 * error's class only (STYLE habit 8). Also the BullMQ error the processor throws for it.
 */
import { UnrecoverableError } from "bullmq";
import { DeliveryError, PermanentDeliveryError, TransientDeliveryError } from "./delivery-errors.js";

export interface AttemptFailure {
  transient: boolean;
  /** Stable label for metrics and the dead-letter record: `http_503`, `timeout`, `shutdown`… */
  reason: string;
  name: string;
  message: string;
  retryAfterMs?: number;
  /** A 410 Gone: pause the sink until an operator resumes it. */
  pauseSink: boolean;
}

export type AbortCause = "timeout" | "shutdown";

export function classifyFailure(err: unknown, abortedBy: AbortCause | undefined): AttemptFailure {
  // Whatever the sink threw, an attempt we aborted failed because of that abort.
  if (abortedBy !== undefined && !(err instanceof PermanentDeliveryError)) {
    const message = abortedBy === "timeout" ? "attempt timed out" : `attempt aborted (${abortedBy})`;
    return { transient: true, reason: abortedBy, name: "TransientDeliveryError", message, pauseSink: false };
  }
  if (err instanceof TransientDeliveryError) {
    const failure: AttemptFailure = { transient: true, reason: err.reason, name: err.name, message: err.message, pauseSink: false };
    if (err.retryAfterMs !== undefined) failure.retryAfterMs = err.retryAfterMs;
    return failure;
  }
  if (err instanceof PermanentDeliveryError) {
    return { transient: false, reason: err.reason, name: err.name, message: err.message, pauseSink: err.pauseSink };
  }
  if (err instanceof DeliveryError) {
    return { transient: err.transient, reason: err.reason, name: err.name, message: err.message, pauseSink: false };
  }
  // A bug or an unexpected library error: retrying is the safe choice (nothing is lost).
  const e = err instanceof Error ? err : new Error(String(err));
  return { transient: true, reason: "error", name: e.name, message: e.message, pauseSink: false };
}

/** Thrown to BullMQ for a permanent failure: no further attempts. Carries the failure. */
export class PermanentJobFailure extends UnrecoverableError {
  readonly failure: AttemptFailure;
  constructor(failure: AttemptFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

/** Thrown to BullMQ for a transient failure; `retryAfterMs` reaches the backoff strategy. */
export function transientJobError(failure: AttemptFailure): TransientDeliveryError {
  const options = failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs };
  return new TransientDeliveryError(failure.reason, failure.message, options);
}

/** The failure a BullMQ `failed` event reports, whatever the processor (or BullMQ itself) threw. */
export function failureOfJobError(err: unknown): AttemptFailure {
  if (err instanceof PermanentJobFailure) return err.failure;
  if (err instanceof UnrecoverableError) {
    // BullMQ's own (e.g. "job stalled more than allowable limit").
    return { transient: false, reason: "unrecoverable", name: err.name, message: err.message, pauseSink: false };
  }
  return classifyFailure(err, undefined);
}

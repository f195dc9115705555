import type { BerthEvent } from "@berth/events";

export interface DeliverOptions {
  /**
   * Aborted when the sink's timeout elapses or the worker shuts down. Valid for this call only:
   * once `deliver` has settled, the runtime may hand the same (unaborted) signal to a later
   * attempt, so remove every listener you added before settling.
   */
  signal: AbortSignal;
  /** 1-based attempt number. */
  attempt: number;
  /**
   * When set, `signal` aborts at most this many ms after the call (the delivery runtime passes the
   * sink's timeout), so a sink that bounds attempts itself need not arm a second timer per event.
   */
  signalTimeoutMs?: number;
  /**
   * True when the caller stops waiting for `deliver` as soon as `signal` aborts (the delivery
   * runtime races every attempt with its signal): a sink then need not listen for the abort just
   * to return early (an EventTarget listener added and removed per event), only hand the signal to
   * I/O it can actually cancel.
   */
  callerSettlesOnAbort?: boolean;
}

export interface DeliveryReceipt {
  /** Short outcome for the job log, e.g. `HTTP 204` or `jetstream seq 42`. */
  detail: string;
}

/**
 * A sink moves one event to one destination. Throw `TransientDeliveryError` to retry,
 * `PermanentDeliveryError` to dead-letter at once; any other error counts as transient.
 */
export interface Sink {
  readonly name: string;
  deliver(event: BerthEvent, options: DeliverOptions): Promise<DeliveryReceipt>;
  /** Idempotent. */
  close(): Promise<void>;
}

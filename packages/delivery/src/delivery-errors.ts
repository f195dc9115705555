/**
 * Retry meaning comes from the error's class, never from its message text. `reason` is a short
 * stable label (`http_503`, `timeout`, `network`, `no_stream`…) used in metrics and the DLQ.
 */
export abstract class DeliveryError extends Error {
  abstract readonly transient: boolean;
  readonly reason: string;

  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

export class TransientDeliveryError extends DeliveryError {
  override readonly name = "TransientDeliveryError";
  readonly transient = true;
  /** The destination asked us to wait this long (e.g. `Retry-After`). */
  readonly retryAfterMs: number | undefined;

  constructor(reason: string, message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(reason, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export class PermanentDeliveryError extends DeliveryError {
  override readonly name = "PermanentDeliveryError";
  readonly transient = false;
  /** The destination said it is gone for good (HTTP 410): pause the sink until an operator resumes it. */
  readonly pauseSink: boolean;

  constructor(reason: string, message: string, options?: ErrorOptions & { pauseSink?: boolean }) {
    super(reason, message, options);
    this.pauseSink = options?.pauseSink ?? false;
  }
}

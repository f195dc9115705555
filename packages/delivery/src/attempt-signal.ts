/**
 * The AbortSignal of one delivery attempt: it aborts when the sink's timeout elapses or when the
 * process's shutdown grace period ends (`abort("shutdown")`, called by the runner for every
 * attempt in flight), and it remembers which came first.
 *
 * It costs one timer per attempt and, where BullMQ already made one, no AbortController of its
 * own: the signal is BullMQ's per-job signal (the processor's third argument), aborted through
 * `worker.cancelJob`. `AbortSignal.any([AbortSignal.timeout(…), shutdown, lock])` was the runtime's
 * largest per-job CPU cost besides Redis (several signals, weak references and listeners per job
 * in Node 20). If something else aborts BullMQ's signal (a `cancelJob` we did not make), the
 * cause reads `lock_lost`: the attempt was taken away from this worker.
 */
import type { AbortCause } from "./attempt-failure.js";

export interface AttemptSignalOptions {
  timeoutMs: number;
  /**
   * BullMQ's signal for the job, with the function that aborts it (`worker.cancelJob`, whose
   * reason is a string: run() rejects with the original reason, the sink sees the string).
   */
  lock?: { signal: AbortSignal; cancel(reason: unknown): void } | undefined;
}

export class AttemptSignal {
  /** Handed to the sink; aborted with the first cause. */
  readonly signal: AbortSignal;
  private readonly cancel: (reason: unknown) => void;
  private readonly timer: NodeJS.Timeout;
  private causeOf: AbortCause | undefined;
  private reason: unknown;
  private rejectRun: ((reason: unknown) => void) | undefined;

  constructor(options: AttemptSignalOptions) {
    if (options.lock) {
      this.signal = options.lock.signal;
      this.cancel = options.lock.cancel;
    } else {
      const controller = new AbortController();
      this.signal = controller.signal;
      this.cancel = (reason) => controller.abort(reason);
    }
    this.timer = setTimeout(() => this.abort("timeout", new DOMException("attempt timed out", "TimeoutError")), options.timeoutMs);
  }

  /** Why the attempt was aborted; undefined while it was not. */
  get cause(): AbortCause | undefined {
    return this.causeOf ?? (this.signal.aborted ? "lock_lost" : undefined);
  }

  /**
   * Settles with `work`, or rejects with the abort reason as soon as the attempt is aborted, so a
   * sink that ignores its signal cannot hold the attempt (its work is left to finish on its own).
   */
  run<T>(work: Promise<T>): Promise<T> {
    if (this.signal.aborted) {
      work.catch(() => {});
      return Promise.reject(this.causeOf === undefined ? this.signal.reason : this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.rejectRun = reject;
      work.then(resolve, reject);
    });
  }

  /** Aborts the attempt (first cause wins). */
  abort(cause: AbortCause, reason: unknown): void {
    if (this.causeOf !== undefined || this.signal.aborted) return;
    this.causeOf = cause;
    this.reason = reason;
    clearTimeout(this.timer);
    this.cancel(reason);
    this.rejectRun?.(reason);
  }

  /** Stops the timer; call once the attempt has settled. */
  dispose(): void {
    clearTimeout(this.timer);
    this.rejectRun = undefined;
  }
}

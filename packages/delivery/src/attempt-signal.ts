/**
 * The AbortSignal of one delivery attempt: it aborts when the sink's timeout elapses or when the
 * process's shutdown grace period ends (`abort("shutdown")`, called by the runner for every
 * attempt in flight), and it remembers which came first.
 *
 * It costs one timer per attempt and, most of the time, no new AbortSignal: creating one is the
 * runtime's largest per-job CPU cost besides Redis in Node 20 (~5 µs, plus the garbage of an
 * EventTarget), so the signals of attempts that ended unaborted, with no listener left on them, go
 * back to a `SignalPool` and serve later attempts. An aborted signal is never reused. (Earlier
 * versions used BullMQ's per-job signal, which BullMQ creates for every job when the processor
 * takes it, and only aborts through `worker.cancelJob`, which Berth never calls.)
 */
import { getEventListeners } from "node:events";
import type { AbortCause } from "./attempt-failure.js";

/** Enough for a few sinks' concurrency; beyond that, surplus signals are left to the GC. */
const POOL_LIMIT = 256;

/** Unaborted AbortControllers whose attempt has ended. */
export class SignalPool {
  private readonly free: AbortController[] = [];

  take(): AbortController {
    return this.free.pop() ?? new AbortController();
  }

  /**
   * Keeps `controller` only if nothing can tell it was used: never aborted, and every listener a
   * sink added during the attempt removed again (a listener left behind would hear a later
   * attempt's abort).
   */
  give(controller: AbortController): void {
    if (this.free.length >= POOL_LIMIT || controller.signal.aborted) return;
    if (getEventListeners(controller.signal, "abort").length > 0) return;
    this.free.push(controller);
  }

  get size(): number {
    return this.free.length;
  }
}

export interface AttemptSignalOptions {
  timeoutMs: number;
  /** Where the signal comes from and goes back to on `dispose()`; a fresh one per attempt without. */
  pool?: SignalPool | undefined;
}

export class AttemptSignal {
  /** Handed to the sink; aborted with the first cause. */
  readonly signal: AbortSignal;
  private readonly controller: AbortController;
  private readonly pool: SignalPool | undefined;
  private readonly timer: NodeJS.Timeout;
  private causeOf: AbortCause | undefined;
  private reason: unknown;
  private rejectRun: ((reason: unknown) => void) | undefined;
  private disposed = false;

  constructor(options: AttemptSignalOptions) {
    this.pool = options.pool;
    this.controller = options.pool ? options.pool.take() : new AbortController();
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => this.abort("timeout", new DOMException("attempt timed out", "TimeoutError")), options.timeoutMs);
  }

  /** Why the attempt was aborted; undefined while it was not. */
  get cause(): AbortCause | undefined {
    return this.causeOf;
  }

  /**
   * Settles with `work`, or rejects with the abort reason as soon as the attempt is aborted, so a
   * sink that ignores its signal cannot hold the attempt (its work is left to finish on its own).
   */
  run<T>(work: Promise<T>): Promise<T> {
    if (this.causeOf !== undefined) {
      work.catch(() => {});
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.rejectRun = reject;
      work.then(resolve, reject);
    });
  }

  /** Aborts the attempt (first cause wins; nothing once disposed). */
  abort(cause: AbortCause, reason: unknown): void {
    if (this.causeOf !== undefined || this.disposed) return;
    this.causeOf = cause;
    this.reason = reason;
    clearTimeout(this.timer);
    this.controller.abort(reason);
    this.rejectRun?.(reason);
  }

  /**
   * Stops the timer and hands the signal back to the pool; call once the attempt has settled.
   * The signal must not be used for this attempt afterwards (a later attempt may own it).
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    this.rejectRun = undefined;
    this.pool?.give(this.controller);
  }
}

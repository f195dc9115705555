/**
 * One sink's circuit breaker, as seen from one worker process. The state itself lives in Redis
 * (@berth/queue sink-state), so every process of the sink shares it:
 *   closed --N consecutive failures--> open (queue paused, reason breaker)
 *   open --cool-down elapsed (any process notices)--> half-open (queue resumed; next jobs probe)
 *   half-open --success--> closed;  half-open --failure--> open again
 */
import type { SinkConfig } from "@berth/config";
import {
  breakerOpenUntil,
  breakerStateAt,
  closeBreaker,
  halfOpenBreaker,
  openBreaker,
  recordSinkFailure,
} from "@berth/queue";
import type { Logger } from "@berth/telemetry";
import type { RedisConnection } from "@berth/queue";
import type { AttemptFailure } from "./attempt-failure.js";
import type { DeliveryMetrics } from "./delivery-metrics.js";

/** A success resets the shared failure count at most this often unless this process saw a failure. */
const RESET_INTERVAL_MS = 1_000;

export class SinkBreaker {
  private failedSinceReset = false;
  private lastResetAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly conn: RedisConnection,
    private readonly prefix: string,
    private readonly sink: SinkConfig,
    private readonly logger: Logger,
    private readonly metrics: DeliveryMetrics,
  ) {}

  /** Starts watching for the end of a cool-down. */
  start(): void {
    const every = Math.max(50, Math.min(1_000, Math.floor(this.sink.breaker.cooldownMs / 4)));
    this.timer = setInterval(() => void this.checkCooldown(), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Whether `onSuccess` has anything to write now; false for most successes (no promise per event),
   * including those completing while another success's write is in flight: that success claimed
   * the reset before its round trip (below), so the write closes the breaker for them all.
   */
  successNeedsWrite(now = Date.now()): boolean {
    return this.failedSinceReset || now - this.lastResetAt >= RESET_INTERVAL_MS;
  }

  /**
   * Closes the breaker (when `successNeedsWrite`, or always with `force`) in one Redis round trip.
   * Returns the failure streak this success ended: non-zero for exactly one process per streak.
   */
  async onSuccess(force = false): Promise<number> {
    const now = Date.now();
    if (!force && !this.successNeedsWrite(now)) return 0;
    // Claimed before the round trip, so successes meanwhile do not write too; a failure meanwhile
    // sets `failedSinceReset` again and the next success writes after it.
    const claimed = { failedSinceReset: this.failedSinceReset, lastResetAt: this.lastResetAt };
    this.failedSinceReset = false;
    this.lastResetAt = now;
    let closed: Awaited<ReturnType<typeof closeBreaker>>;
    try {
      closed = await closeBreaker(this.conn, this.prefix, this.sink);
    } catch (err) {
      // Not written: the next success tries again.
      this.failedSinceReset ||= claimed.failedSinceReset;
      this.lastResetAt = claimed.lastResetAt;
      throw err;
    }
    if (closed.wasOpen) {
      this.logger.warn({ sink: this.sink.name }, "circuit breaker closed: probe delivered");
      this.metrics.breakerTransitions.inc({ sink: this.sink.name, state: "closed" });
    }
    return closed.failures;
  }

  async onFailure(failure: AttemptFailure): Promise<void> {
    this.failedSinceReset = true;
    const failures = await recordSinkFailure(this.conn, this.prefix, this.sink);
    if (failures < this.sink.breaker.threshold) return;
    // Attempts already in flight when the breaker opened fail too; they must not extend the cool-down.
    const state = breakerStateAt(await breakerOpenUntil(this.conn, this.prefix, this.sink), Date.now());
    if (state === "open") return;
    const detail = `${failures} consecutive failures, last: ${failure.message}`;
    await openBreaker(this.conn, this.prefix, this.sink, this.sink.breaker.cooldownMs, detail);
    // Opening is news (warn); re-opening after each failed half-open probe is the same outage
    // going on, which the failure log's periodic summary already reports.
    this.logger[state === "half-open" ? "debug" : "warn"](
      { sink: this.sink.name, failures, reason: failure.reason, cooldownMs: this.sink.breaker.cooldownMs, from: state },
      "circuit breaker open: sink queue paused for the cool-down",
    );
    this.metrics.breakerTransitions.inc({ sink: this.sink.name, state: "open" });
  }

  private async checkCooldown(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const until = await breakerOpenUntil(this.conn, this.prefix, this.sink);
      // No cool-down recorded while the queue is still paused by the breaker happens when an
      // attempt already in flight succeeded and closed the breaker after the pause: the
      // half-open step (which checks the pause reason) must still resume the queue.
      if (until !== undefined && until > Date.now()) return;
      if (await halfOpenBreaker(this.conn, this.prefix, this.sink)) {
        this.logger.debug({ sink: this.sink.name }, "circuit breaker half-open: sink queue resumed to probe");
        this.metrics.breakerTransitions.inc({ sink: this.sink.name, state: "half-open" });
      }
    } catch (err) {
      this.logger.warn({ sink: this.sink.name, err }, "circuit breaker check failed");
    } finally {
      this.checking = false;
    }
  }
}

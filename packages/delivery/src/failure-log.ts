/**
 * Warn-level lines about one sink's failed attempts, rate-limited so an outage is visible in the
 * logs without a line per attempt: the first failure of a streak, then a summary at most every
 * `summaryEveryMs` while the streak lasts (written when a failure comes due, so no timer), and one
 * line when the sink delivers again. Breaker transitions are logged by the breaker itself. Per
 * process: each worker says what it saw.
 */
import type { Logger } from "@berth/telemetry";
import type { AttemptFailure } from "./attempt-failure.js";

export const FAILURE_SUMMARY_INTERVAL_MS = 60_000;

interface Streak {
  startedAt: number;
  failures: number;
  sinceSummary: number;
  summarizedAt: number;
  reasons: Map<string, number>;
}

export class FailureLog {
  private streak: Streak | undefined;

  constructor(
    private readonly sink: string,
    private readonly logger: Logger,
    private readonly summaryEveryMs = FAILURE_SUMMARY_INTERVAL_MS,
  ) {}

  failed(failure: AttemptFailure, eventId: string, attempt: number, now = Date.now()): void {
    const s = this.streak;
    if (s === undefined) {
      this.streak = { startedAt: now, failures: 1, sinceSummary: 0, summarizedAt: now, reasons: new Map() };
      this.logger.warn(
        { sink: this.sink, reason: failure.reason, eventId, attempt },
        `sink failing: ${failure.message}; retries wait in backoff (a summary follows every ${Math.round(this.summaryEveryMs / 1000)} s while it lasts)`,
      );
      return;
    }
    s.failures++;
    s.sinceSummary++;
    s.reasons.set(failure.reason, (s.reasons.get(failure.reason) ?? 0) + 1);
    if (now - s.summarizedAt < this.summaryEveryMs) return;
    this.logger.warn(
      {
        sink: this.sink,
        failures: s.sinceSummary,
        reasons: Object.fromEntries(s.reasons),
        failingForMs: now - s.startedAt,
        last: failure.message,
      },
      `sink still failing: ${s.sinceSummary} failed attempts in the last ${Math.round((now - s.summarizedAt) / 1000)} s`,
    );
    s.sinceSummary = 0;
    s.summarizedAt = now;
    s.reasons.clear();
  }

  /** Called on every success; costs one comparison unless a streak just ended. */
  delivered(now = Date.now()): void {
    const s = this.streak;
    if (s === undefined) return;
    this.streak = undefined;
    this.logger.warn(
      { sink: this.sink, failures: s.failures, failingForMs: now - s.startedAt },
      `sink delivering again after ${s.failures} failed attempts`,
    );
  }
}

/**
 * The retry schedule: exponential backoff with full jitter
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/):
 *   delay(n) = random(0, min(maxDelay, delay · 2^(n-1)))     n = failed attempts so far (1-based)
 * A destination's own `Retry-After` is honoured as a lower bound, capped by `maxDelay`.
 * Pure: BullMQ calls `createBackoffStrategy`'s result from the Worker's `settings.backoffStrategy`.
 */
import type { RetrySettings } from "@berth/config";
import type { BackoffStrategy } from "bullmq";
import { TransientDeliveryError } from "./delivery-errors.js";

export type RandomSource = () => number;

/** The upper bound of the n-th jittered delay (n = 1 after the first failed attempt). */
export function backoffCeilingMs(failedAttempts: number, retry: Pick<RetrySettings, "delayMs" | "maxDelayMs">): number {
  const exponent = Math.max(0, failedAttempts - 1);
  // 2^exponent overflows to Infinity long after it passed any realistic maxDelay: min() keeps it finite.
  return Math.min(retry.maxDelayMs, retry.delayMs * 2 ** exponent);
}

/** The delay before the next attempt, in whole milliseconds. */
export function retryDelayMs(
  failedAttempts: number,
  retry: Pick<RetrySettings, "delayMs" | "maxDelayMs">,
  retryAfterMs?: number,
  random: RandomSource = Math.random,
): number {
  const ceiling = backoffCeilingMs(failedAttempts, retry);
  const jittered = Math.floor(random() * (ceiling + 1));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return jittered;
  return Math.min(retry.maxDelayMs, Math.max(Math.ceil(retryAfterMs), jittered));
}

/** The BullMQ backoff strategy for one sink (registered under `BACKOFF_TYPE`). */
export function createBackoffStrategy(retry: RetrySettings, random: RandomSource = Math.random): BackoffStrategy {
  return (attemptsMade, _type, err) => {
    const retryAfterMs = err instanceof TransientDeliveryError ? err.retryAfterMs : undefined;
    return retryDelayMs(attemptsMade, retry, retryAfterMs, random);
  };
}

/**
 * P(total wait of the whole schedule < horizonMs), computed exactly up to a `stepMs` grid by
 * convolving the delays' distributions. Each delay is rounded DOWN to the grid, so the result is an
 * upper bound of the true probability of giving up before the horizon.
 */
export function probabilityScheduleShorterThan(retry: RetrySettings, horizonMs: number, stepMs = 60_000): number {
  const bins = Math.ceil(horizonMs / stepMs);
  // dist[k] = P(sum of floored delays so far == k steps), for k < bins; mass at >= bins is dropped.
  let dist = new Float64Array(bins);
  dist[0] = 1;
  for (let n = 1; n < retry.attempts; n++) {
    const ceiling = backoffCeilingMs(n, retry);
    const outcomes = ceiling + 1; // the delay is uniform over the integers 0..ceiling
    const next = new Float64Array(bins);
    // P(floor(delay / step) == j) for j = 0..; computed from counts of integers in each bin.
    const maxJ = Math.floor(ceiling / stepMs);
    for (let j = 0; j <= maxJ && j < bins; j++) {
      const lo = j * stepMs;
      const hi = Math.min(ceiling, (j + 1) * stepMs - 1);
      const p = (hi - lo + 1) / outcomes;
      for (let k = 0; k + j < bins; k++) next[k + j]! += dist[k]! * p;
    }
    dist = next;
  }
  return dist.reduce((a, b) => a + b, 0);
}

/** Expected total wait of the whole schedule (no Retry-After), in ms. */
export function expectedScheduleMs(retry: RetrySettings): number {
  let sum = 0;
  for (let n = 1; n < retry.attempts; n++) sum += backoffCeilingMs(n, retry) / 2;
  return sum;
}

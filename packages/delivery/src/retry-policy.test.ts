import assert from "node:assert/strict";
import { seededRandom } from "@berth/testing";
import { describe, it } from "node:test";
import type { RetrySettings } from "@berth/config";
import { TransientDeliveryError } from "./delivery-errors.js";
import {
  backoffCeilingMs,
  createBackoffStrategy,
  expectedScheduleMs,
  probabilityScheduleShorterThan,
  retryDelayMs,
} from "./retry-policy.js";

const DEFAULT_RETRY: RetrySettings = { attempts: 80, delayMs: 1_000, maxDelayMs: 3_600_000 };
const DAY_MS = 24 * 3_600_000;


describe("retry policy", () => {
  it("doubles the ceiling per failed attempt and caps it at maxDelay", () => {
    const retry = { delayMs: 1_000, maxDelayMs: 10_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 200].map((n) => backoffCeilingMs(n, retry)),
      [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000],
    );
  });

  it("full jitter spans 0..ceiling", () => {
    const retry = { delayMs: 1_000, maxDelayMs: 60_000 };
    assert.equal(retryDelayMs(3, retry, undefined, () => 0), 0);
    assert.equal(retryDelayMs(3, retry, undefined, () => 0.999_999_9), 4_000);
    assert.equal(retryDelayMs(3, retry, undefined, () => 0.5), 2_000);
  });

  it("honours Retry-After as a lower bound, capped by maxDelay", () => {
    const retry = { delayMs: 100, maxDelayMs: 5_000 };
    assert.equal(retryDelayMs(1, retry, 2_000, () => 0), 2_000);
    assert.equal(retryDelayMs(1, retry, 60_000, () => 0), 5_000);
    assert.equal(retryDelayMs(6, { delayMs: 1_000, maxDelayMs: 60_000 }, 10, () => 0.999), 31_968);
  });

  it("the BullMQ strategy reads retryAfterMs from a TransientDeliveryError only", async () => {
    const strategy = createBackoffStrategy({ attempts: 5, delayMs: 100, maxDelayMs: 10_000 }, () => 0);
    const throttled = new TransientDeliveryError("http_429", "HTTP 429", { retryAfterMs: 2_000 });
    assert.equal(await strategy(1, "berth-full-jitter", throttled), 2_000);
    assert.equal(await strategy(1, "berth-full-jitter", new Error("x")), 0);
  });

  it("the default schedule (80 attempts, 1 s, max 1 h) rides out a 24 h outage", () => {
    const expected = expectedScheduleMs(DEFAULT_RETRY);
    // Delays 1..12 average 2047.5 s in total; the 67 capped ones average 30 min each: ~34 h.
    assert.ok(expected > 33 * 3_600_000 && expected < 35 * 3_600_000, `expected ${expected / 3_600_000} h`);
    const pEarly = probabilityScheduleShorterThan(DEFAULT_RETRY, DAY_MS);
    console.log(`P(default schedule gives up before 24 h) <= ${pEarly.toExponential(2)}`);
    assert.ok(pEarly < 1e-4, `P(give up before 24 h) = ${pEarly}`);
  });

  it("the exact computation agrees with a seeded simulation", () => {
    const retry: RetrySettings = { attempts: 12, delayMs: 1_000, maxDelayMs: 60_000 };
    const horizon = 4 * 60_000;
    const random = seededRandom(42);
    const runs = 20_000;
    let early = 0;
    for (let r = 0; r < runs; r++) {
      let total = 0;
      for (let n = 1; n < retry.attempts; n++) total += retryDelayMs(n, retry, undefined, random);
      if (total < horizon) early++;
    }
    const simulated = early / runs;
    const bound = probabilityScheduleShorterThan(retry, horizon, 100);
    // The grid rounds delays down (an upper bound); on a 100 ms grid the bias is below 1 %.
    assert.ok(simulated > 0.05 && simulated < 0.95, `simulated ${simulated} should be informative`);
    assert.ok(Math.abs(bound - simulated) < 0.02, `exact ${bound} vs simulated ${simulated}`);
    assert.ok(bound >= simulated - 0.01);
  });
});

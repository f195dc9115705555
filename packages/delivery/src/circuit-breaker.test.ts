/**
 * The breaker's shared state against real Redis: the cases where several attempts of one sink
 * race (in flight when the breaker opens) must never leave the queue paused for good.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SinkConfig } from "@berth/config";
import { adminConnection, getSinkStatus } from "@berth/queue";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, testSinkConfig, uniqueName, waitFor } from "@berth/testing";
import type { AttemptFailure } from "./attempt-failure.js";
import { SinkBreaker } from "./circuit-breaker.js";
import { createDeliveryMetrics } from "./delivery-metrics.js";

function sinkConfig(cooldownMs: number): SinkConfig {
  return testSinkConfig({ name: "breaker", type: "http", timeoutMs: 1_000, breaker: { threshold: 2, cooldownMs } });
}

const failure: AttemptFailure = { name: "TransientDeliveryError", message: "HTTP 503", reason: "http_503", transient: true, pauseSink: false };

describe("circuit breaker", () => {
  const conn = adminConnection(SHARED_REDIS_URL);
  const prefixes: string[] = [];
  after(async () => {
    for (const p of prefixes) await deleteKeysByPrefix(conn, p);
    await conn.quit();
  });

  function breaker(cooldownMs: number) {
    const prefix = uniqueName("breaker");
    prefixes.push(prefix);
    const sink = sinkConfig(cooldownMs);
    const metrics = createDeliveryMetrics(createMetricsRegistry("test"), async () => []);
    return { prefix, sink, breaker: new SinkBreaker(conn, prefix, sink, silentLogger(), metrics) };
  }

  it("opens after threshold consecutive failures and pauses the sink's queue", async () => {
    const { prefix, sink, breaker: b } = breaker(60_000);
    await b.onFailure(failure);
    assert.equal((await getSinkStatus(conn, prefix, sink)).paused, false);
    await b.onFailure(failure);
    const status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.breaker, "open");
    assert.equal(status.paused, true);
    assert.equal(status.pauseReason, "breaker");
  });

  it("an attempt in flight that succeeds after the breaker opened does not leave the queue paused", async () => {
    const { prefix, sink, breaker: b } = breaker(60_000);
    await b.onFailure(failure);
    await b.onFailure(failure);
    // The success closes the breaker (drops the cool-down) while the queue is still paused.
    await b.onSuccess();
    b.start();
    try {
      const status = await waitFor("queue resumed", async () => {
        const s = await getSinkStatus(conn, prefix, sink);
        return s.paused ? undefined : s;
      });
      assert.equal(status.breaker, "closed");
      assert.equal(status.pauseReason, undefined);
    } finally {
      b.stop();
    }
  });
});

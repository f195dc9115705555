/**
 * The breaker's shared state against real Redis: the cases where several attempts of one sink
 * race (in flight when the breaker opens) must never leave the queue paused for good.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SinkConfig } from "@berth/config";
import { adminConnection, getSinkStatus } from "@berth/queue";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, startRedisServer, testSinkConfig, uniqueName, waitFor } from "@berth/testing";
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

  it("a burst of successes during one close's round trip writes the breaker once", async () => {
    // Its own redis-server: INFO commandstats counts every client's commands.
    const redis = await startRedisServer();
    const own = adminConnection(redis.url);
    try {
      const sink = sinkConfig(60_000);
      const metrics = createDeliveryMetrics(createMetricsRegistry("test"), async () => []);
      const b = new SinkBreaker(own, "burst", sink, silentLogger(), metrics);
      await b.onFailure(failure);
      const closes = async () => Number(/cmdstat_getdel:calls=(\d+)/.exec(await own.info("commandstats"))?.[1] ?? 0);
      // What the runner does at the end of each of 16 attempts completing together.
      const ended = await Promise.all(Array.from({ length: 16 }, () => (b.successNeedsWrite() ? b.onSuccess() : Promise.resolve(0))));
      assert.equal(await closes(), 1, "one close for the burst");
      assert.deepEqual(ended.filter((n) => n > 0), [1], "the one close learnt that the streak of 1 ended");
      // A failure after the burst makes the next success write again, at once.
      await b.onFailure(failure);
      assert.equal(b.successNeedsWrite(), true);
      assert.equal(await b.onSuccess(), 1);
      assert.equal(await closes(), 2);
    } finally {
      own.disconnect();
      await redis.destroy();
    }
  });
});

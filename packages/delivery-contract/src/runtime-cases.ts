/**
 * The runtime-level contract: the sink inside the real delivery runtime (BullMQ on real Redis):
 * retries, timeouts, dead letters, the circuit breaker.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SinkConfig } from "@berth/config";
import { type DeadLetterJobData, adminConnection, deadLetterQueueName, deliveryJobId, getSinkStatus } from "@berth/queue";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, uniqueName, waitFor } from "@berth/testing";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type DeliveryRuntime, startDeliveryRuntime } from "@berth/delivery";
import type { DeliverOptions, Sink } from "@berth/delivery";
import { configWithSink, deleteKeysByPrefix, enqueue, sampleEvent } from "./fixtures.js";
import type { DestinationMode, SinkContractOptions, SinkHarness } from "./harness.js";

/** Passes every call through to the real sink and records the attempt numbers it saw. */
function observed(sink: Sink, beforeAttempt: (o: DeliverOptions) => void = () => {}) {
  const attempts: number[] = [];
  const wrapped: Sink = {
    name: sink.name,
    deliver(event, o) {
      attempts.push(o.attempt);
      beforeAttempt(o);
      return sink.deliver(event, o);
    },
    close: () => sink.close(),
  };
  return { wrapped, attempts };
}

export function runtimeCases(options: SinkContractOptions): void {
  describe(`${options.name} sink in the delivery runtime`, () => {
    const redisUrl = options.redisUrl ?? SHARED_REDIS_URL;
    let harness: SinkHarness;
    let conn: Redis;
    const prefixes: string[] = [];

    before(async () => {
      harness = await options.makeHarness();
      conn = adminConnection(redisUrl);
    });
    after(async () => {
      for (const p of prefixes) await deleteKeysByPrefix(conn, p);
      await conn.quit();
      await harness.close();
    });

    async function run(
      overrides: Partial<SinkConfig>,
      createSink: (s: SinkConfig) => Sink,
    ): Promise<{ sink: SinkConfig; prefix: string; runtime: DeliveryRuntime; deadLetters: Queue<DeadLetterJobData> }> {
      const prefix = uniqueName("contract");
      prefixes.push(prefix);
      const sink = harness.sinkConfig({
        name: "contract",
        timeoutMs: 2_000,
        retry: { attempts: 5, delayMs: 50, maxDelayMs: 200 },
        concurrency: 4,
        breaker: { threshold: 1_000, cooldownMs: 1_000 },
        ...overrides,
      });
      const runtime = await startDeliveryRuntime({
        config: configWithSink(sink, redisUrl, prefix),
        sinkType: sink.type,
        createSink,
        logger: silentLogger(),
        metrics: createMetricsRegistry("contract"),
      });
      const deadLetters = new Queue<DeadLetterJobData>(deadLetterQueueName(sink), { connection: conn, prefix });
      return { sink, prefix, runtime, deadLetters };
    }

    const needs = (t: { skip(msg: string): void }, ...modes: DestinationMode[]) => {
      const missing = modes.filter((m) => !harness.modes.includes(m));
      if (missing.length > 0) t.skip(`destination cannot play ${missing.join(", ")}`);
      return missing.length === 0;
    };

    it("transient twice, then healthy: delivered on the third attempt, nothing dead-lettered", async (t) => {
      if (!needs(t, "transient")) return;
      harness.setMode("transient");
      let attempts: number[] = [];
      const r = await run({}, (s) => {
        const o = observed(harness.createSink(s), ({ attempt }) => {
          if (attempt === 3) harness.setMode("healthy");
        });
        attempts = o.attempts;
        return o.wrapped;
      });
      try {
        const event = sampleEvent(10);
        await enqueue(conn, r.prefix, r.sink, [event]);
        await waitFor("delivery", async () => (await harness.received()).includes(event.id));
        const status = await waitFor("job completed", async () => {
          const s = await getSinkStatus(conn, r.prefix, r.sink);
          return s.waiting + s.active + s.delayed === 0 ? s : undefined;
        });
        assert.deepEqual(attempts, [1, 2, 3]);
        assert.equal(status.deadLetters, 0);
        assert.equal((await harness.received()).filter((id) => id === event.id).length, 1);
      } finally {
        await r.runtime.close(1_000);
        await r.deadLetters.close();
      }
    });

    it("a permanent failure is dead-lettered after one attempt, with the event and the error", async (t) => {
      if (!needs(t, "permanent")) return;
      harness.setMode("permanent");
      let attempts: number[] = [];
      const r = await run({}, (s) => {
        const o = observed(harness.createSink(s));
        attempts = o.attempts;
        return o.wrapped;
      });
      try {
        const event = sampleEvent(11);
        await enqueue(conn, r.prefix, r.sink, [event]);
        const jobId = deliveryJobId(event.id, r.sink.name);
        const dead = await waitFor("dead letter", () => r.deadLetters.getJob(jobId));
        assert.equal(dead.data.event.id, event.id);
        assert.equal(dead.data.sink, r.sink.name);
        assert.equal(dead.data.attempts, 1);
        assert.equal(dead.data.error.name, "PermanentDeliveryError");
        assert.ok(dead.data.error.reason.length > 0);
        assert.ok(dead.data.failedAt >= dead.data.enqueuedAt);
        assert.deepEqual(attempts, [1]);
        const status = await waitFor("failed job removed", async () => {
          const s = await getSinkStatus(conn, r.prefix, r.sink);
          return s.failed === 0 ? s : undefined;
        });
        assert.equal(status.deadLetters, 1);
        assert.equal(status.waiting + status.delayed + status.active, 0);
      } finally {
        harness.setMode("healthy");
        await r.runtime.close(1_000);
        await r.deadLetters.close();
      }
    });

    it("the last transient attempt dead-letters the event with the attempt count", async (t) => {
      if (!needs(t, "transient")) return;
      harness.setMode("transient");
      const r = await run({ retry: { attempts: 3, delayMs: 20, maxDelayMs: 50 } }, (s) => harness.createSink(s));
      try {
        const event = sampleEvent(12);
        await enqueue(conn, r.prefix, r.sink, [event]);
        const dead = await waitFor("dead letter", () => r.deadLetters.getJob(deliveryJobId(event.id, r.sink.name)));
        assert.equal(dead.data.attempts, 3);
        assert.equal(dead.data.error.name, "TransientDeliveryError");
      } finally {
        harness.setMode("healthy");
        await r.runtime.close(1_000);
        await r.deadLetters.close();
      }
    });

    it("a hanging destination: the attempt times out and is retried", async (t) => {
      if (!needs(t, "hang")) return;
      harness.setMode("hang");
      let attempts: number[] = [];
      const r = await run({ timeoutMs: 300 }, (s) => {
        const o = observed(harness.createSink(s), ({ attempt }) => {
          if (attempt === 2) harness.setMode("healthy");
        });
        attempts = o.attempts;
        return o.wrapped;
      });
      try {
        const event = sampleEvent(13);
        await enqueue(conn, r.prefix, r.sink, [event]);
        await waitFor("delivery", async () => (await harness.received()).includes(event.id));
        assert.deepEqual(attempts.slice(0, 2), [1, 2]);
      } finally {
        harness.setMode("healthy");
        await r.runtime.close(1_000);
        await r.deadLetters.close();
      }
    });

    it("circuit breaker: opens after N consecutive failures, probes after the cool-down, closes on success", async (t) => {
      if (!needs(t, "transient")) return;
      harness.setMode("transient");
      let attempts: number[] = [];
      const r = await run(
        { breaker: { threshold: 3, cooldownMs: 400 }, concurrency: 1, retry: { attempts: 50, delayMs: 10, maxDelayMs: 20 } },
        (s) => {
          const o = observed(harness.createSink(s));
          attempts = o.attempts;
          return o.wrapped;
        },
      );
      try {
        const event = sampleEvent(14);
        await enqueue(conn, r.prefix, r.sink, [event]);
        // openBreaker writes the cool-down, then pauses the queue (two steps, in the order that is
        // safe across a crash), so a status read between them sees open-but-not-yet-paused.
        const open = await waitFor("breaker open and queue paused", async () => {
          const s = await getSinkStatus(conn, r.prefix, r.sink);
          return s.breaker === "open" && s.paused ? s : undefined;
        });
        assert.equal(open.pauseReason, "breaker");
        const whileOpen = attempts.length;
        assert.ok(whileOpen >= 3, `opened after ${whileOpen} attempts`);
        harness.setMode("healthy");
        await waitFor("delivered after the cool-down", async () => (await harness.received()).includes(event.id), {
          timeoutMs: 15_000,
        });
        const closed = await waitFor("breaker closed", async () => {
          const s = await getSinkStatus(conn, r.prefix, r.sink);
          return s.breaker === "closed" && !s.paused ? s : undefined;
        });
        assert.equal(closed.consecutiveFailures, 0);
      } finally {
        harness.setMode("healthy");
        await r.runtime.close(1_000);
        await r.deadLetters.close();
      }
    });
  });
}

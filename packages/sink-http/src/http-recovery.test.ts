/**
 * A sink that comes back gets its backlog at once: retries held in a long backoff are promoted
 * when a delivery succeeds again, and while every held job waits, a recovery probe (outside the
 * queue, costing no attempt) is what notices the return; a destination's Retry-After holds the
 * probes off. Real runtime, BullMQ, Redis and HTTP.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DeliveryRuntime, } from "@berth/delivery";
import { deleteKeysByPrefix, enqueue, heldAttempts, sampleEvent } from "@berth/delivery-contract";
import { adminConnection, getSinkStatus } from "@berth/queue";
import { SHARED_REDIS_URL, uniqueName, waitFor } from "@berth/testing";
import { httpSinkConfig, startHttpRuntime } from "./test-support/http-harness.js";
import { type Receiver, startReceiver } from "./test-support/receiver.js";

describe("HTTP sink recovery", () => {
  const conn = adminConnection(SHARED_REDIS_URL);
  const prefix = uniqueName("recovery");
  let receiver: Receiver;
  let runtime: DeliveryRuntime | undefined;

  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await runtime?.close(1_000);
    await deleteKeysByPrefix(conn, prefix);
    await conn.quit();
    await receiver.close();
  });

  it("held retries are delivered as soon as the receiver is back, and probing costs them no attempt", async () => {
    // A first retry drawn from 0–24 h (full jitter): without the probe and the promotion, no held
    // event arrives before the waits below give up (each of the 5 would retry within 20 s by
    // chance with p ≈ 2·10⁻⁴). No Retry-After: a destination's Retry-After also holds the probes.
    const sink = httpSinkConfig(receiver.url, {
      retry: { attempts: 80, delayMs: 86_400_000, maxDelayMs: 86_400_000 },
      breaker: { threshold: 5, cooldownMs: 200 },
    });
    let up = false;
    const delivered = new Set<string>();
    receiver.answer = (r) => {
      if (!up) return { status: 503 };
      delivered.add(r.headers["ce-id"] as string);
      return { status: 204 };
    };
    runtime = await startHttpRuntime(sink, prefix);
    const events = Array.from({ length: 5 }, (_, i) => sampleEvent(i));
    await enqueue(conn, prefix, sink, events);
    await waitFor("every event held in backoff", async () => (await getSinkStatus(conn, prefix, sink)).delayed === events.length);

    // Probes reach the receiver while everything waits (the breaker re-opens after each) ...
    const afterFirstAttempts = receiver.requests.length;
    await waitFor("three recovery probes", () => receiver.requests.length >= afterFirstAttempts + 3);
    // ... without spending the held jobs' attempts.
    const held = await heldAttempts(conn, prefix, sink);
    assert.equal(held.length, events.length);
    assert.deepEqual([...new Set(held)], [1]);

    up = true;
    await waitFor("every held event delivered", async () => {
      const s = await getSinkStatus(conn, prefix, sink);
      return s.delayed + s.waiting + s.active === 0;
    });
    assert.deepEqual([...delivered].sort(), events.map((e) => e.id).sort());
    const status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.breaker, "closed");
    assert.equal(status.deadLetters, 0);
  });

  it("a Retry-After holds the probes off: nothing reaches the destination before it", async () => {
    await runtime?.close(1_000);
    const sink = httpSinkConfig(receiver.url, {
      name: "polite",
      retry: { attempts: 80, delayMs: 86_400_000, maxDelayMs: 86_400_000 },
      breaker: { threshold: 1_000, cooldownMs: 200 },
    });
    const arrivals: number[] = [];
    receiver.answer = () => {
      arrivals.push(Date.now());
      return { status: 503, headers: { "retry-after": "2" } };
    };
    runtime = await startHttpRuntime(sink, prefix);
    await enqueue(conn, prefix, sink, [sampleEvent(100)]);
    // The probe interval here is 50 ms: without the hold, probes would follow every 50 ms.
    await waitFor("a probe after the Retry-After", () => arrivals.length >= 2, { timeoutMs: 15_000 });
    const gap = arrivals[1]! - arrivals[0]!;
    assert.ok(gap >= 2_000, `the next request came ${gap} ms after a Retry-After of 2 s`);
  });
});

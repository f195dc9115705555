/** HTTP-specific delivery behaviour through the real runtime (BullMQ on real Redis). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SinkConfig } from "@berth/config";
import type { DeliveryRuntime, } from "@berth/delivery";
import { deleteKeysByPrefix, enqueue, readDeadLetters, sampleEvent } from "@berth/delivery-contract";
import { adminConnection, getSinkStatus } from "@berth/queue";
import { SHARED_REDIS_URL, uniqueName, waitFor } from "@berth/testing";
import { httpSinkConfig, startHttpRuntime } from "./test-support/http-harness.js";
import { type Receiver, startReceiver } from "./test-support/receiver.js";

describe("HTTP delivery through the runtime", () => {
  const conn = adminConnection(SHARED_REDIS_URL);
  const prefixes: string[] = [];
  let receiver: Receiver;
  let runtime: DeliveryRuntime | undefined;

  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    for (const p of prefixes) await deleteKeysByPrefix(conn, p);
    await conn.quit();
    await receiver.close();
  });

  async function start(overrides: Partial<SinkConfig> = {}): Promise<{ sink: SinkConfig; prefix: string }> {
    await runtime?.close(1_000);
    const prefix = uniqueName("httpdel");
    prefixes.push(prefix);
    const sink = httpSinkConfig(receiver.url, { retry: { attempts: 5, delayMs: 50, maxDelayMs: 5_000 }, ...overrides });
    runtime = await startHttpRuntime(sink, prefix);
    return { sink, prefix };
  }
  const arrivalsOf = (id: string) => receiver.requests.filter((r) => r.headers["ce-id"] === id);
  after(async () => {
    await runtime?.close(1_000);
  });

  it("503 twice, then 200: delivered on the third attempt", async () => {
    const { sink, prefix } = await start();
    const e = sampleEvent(1);
    receiver.answer = (r) => ({ status: arrivalsOf(r.headers["ce-id"] as string).length <= 2 ? 503 : 200 });
    await enqueue(conn, prefix, sink, [e]);
    await waitFor("third attempt", async () => {
      const s = await getSinkStatus(conn, prefix, sink);
      return arrivalsOf(e.id).length === 3 && s.waiting + s.active + s.delayed === 0;
    });
    assert.equal((await getSinkStatus(conn, prefix, sink)).deadLetters, 0);
  });

  it("400: dead-lettered after one attempt", async () => {
    const { sink, prefix } = await start();
    const e = sampleEvent(2);
    receiver.answer = () => ({ status: 400 });
    await enqueue(conn, prefix, sink, [e]);
    await waitFor("dead letter", async () => (await getSinkStatus(conn, prefix, sink)).deadLetters === 1);
    assert.equal(arrivalsOf(e.id).length, 1);
  });

  it("Retry-After: 2 → the next attempt comes no sooner than 2 s later", async () => {
    const { sink, prefix } = await start();
    const e = sampleEvent(3);
    receiver.answer = (r) =>
      arrivalsOf(r.headers["ce-id"] as string).length === 1 ? { status: 503, headers: { "retry-after": "2" } } : { status: 204 };
    await enqueue(conn, prefix, sink, [e]);
    await waitFor("second attempt", () => arrivalsOf(e.id).length === 2, { timeoutMs: 15_000 });
    const [first, second] = arrivalsOf(e.id);
    const gap = second!.arrivedAt - first!.arrivedAt;
    console.log(`Retry-After case: second attempt ${gap} ms after the first`);
    assert.ok(gap >= 2_000, `second attempt ${gap} ms after the first`);
  });

  it("410: the event is dead-lettered and the sink paused (reason gone) until resumed", async () => {
    const { sink, prefix } = await start();
    const [gone, next] = [sampleEvent(4), sampleEvent(5)];
    receiver.answer = () => ({ status: 410 });
    await enqueue(conn, prefix, sink, [gone]);
    const status = await waitFor("paused", async () => {
      const s = await getSinkStatus(conn, prefix, sink);
      return s.paused && s.deadLetters === 1 ? s : undefined;
    });
    assert.equal(status.pauseReason, "gone");
    receiver.answer = () => ({ status: 204 });
    await enqueue(conn, prefix, sink, [next]);
    const held = await getSinkStatus(conn, prefix, sink);
    assert.equal(held.waiting, 1, "later events wait while the sink is paused");
    assert.equal(arrivalsOf(next.id).length, 0);
  });

  it("302: not followed, dead-lettered", async () => {
    const target = await startReceiver();
    try {
      const { sink, prefix } = await start();
      const e = sampleEvent(6);
      receiver.answer = () => ({ status: 302, headers: { location: target.url } });
      await enqueue(conn, prefix, sink, [e]);
      const [dead] = await waitFor("dead letter", async () => {
        const letters = await readDeadLetters(conn, prefix, sink);
        return letters.length > 0 ? letters : undefined;
      });
      assert.equal(dead!.event.id, e.id);
      assert.equal(dead!.error.reason, "http_3xx");
      assert.equal(dead!.attempts, 1);
      assert.equal(target.requests.length, 0);
    } finally {
      await target.close();
    }
  });
});

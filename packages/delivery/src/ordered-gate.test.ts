import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createEventFactory, formatSequence } from "@berth/events";
import { type DeliveryJobData, orderDeliveredKey, orderPendingKey, sinkQueueName } from "@berth/queue";
import { SHARED_REDIS_URL, deleteKeysByPrefix, uniqueName } from "@berth/testing";
import { type Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { OrderedGate } from "./ordered-gate.js";

const sink = { type: "http" as const, name: "gate" };
const factory = createEventFactory();

describe("OrderedGate (real Redis, BullMQ jobs)", () => {
  const prefix = uniqueName("gate");
  let redis: Redis;
  let queue: Queue<DeliveryJobData>;
  let gate: OrderedGate;
  const pending = (repo: string) => orderPendingKey(prefix, sinkQueueName(sink), repo);

  before(() => {
    redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    queue = new Queue(sinkQueueName(sink), { connection: redis, prefix });
    gate = new OrderedGate(redis, prefix, sink, queue);
  });
  after(async () => {
    await queue.close();
    await deleteKeysByPrefix(redis, prefix);
    redis.disconnect();
  });

  /** A job as the outbox leaves it for an ordered sink: sequenced, in its repository's pending set (unless `free`). */
  async function job(repo: string, sequence: number, opts: { delay?: number; free?: boolean } = {}): Promise<Job<DeliveryJobData>> {
    const event = { ...factory.build("image.updated", { name: repo, reference: `v${sequence}` }), sequence: formatSequence(sequence) };
    const id = `${event.id}.gate`;
    if (!opts.free) await redis.zadd(pending(repo), sequence, id);
    return queue.add("deliver", { event, sink: "gate" }, { jobId: id, ...(opts.delay ? { delay: opts.delay } : {}) });
  }

  it("only the head of a repository goes; other repositories are not held", async () => {
    const [a1, a2] = [await job("a", 1), await job("a", 2)];
    const b1 = await job("b", 1);
    assert.equal((await gate.admit(a2)).verdict, "wait");
    assert.equal((await gate.admit(a1)).verdict, "deliver");
    assert.equal((await gate.admit(b1)).verdict, "deliver");
  });

  it("a head whose job is gone (completed, then its worker died before releasing) no longer holds the repository", async () => {
    const [c1, c2] = [await job("c", 1), await job("c", 2)];
    await c1.remove();
    assert.equal((await gate.admit(c2)).verdict, "deliver");
    assert.deepEqual(await redis.zrange(pending("c"), "0", "-1"), [c2.id]);
  });

  it("release wakes the next job of the repository and raises the delivered mark", async () => {
    const d1 = await job("d", 1);
    const d2 = await job("d", 2, { delay: 600_000 }); // parked
    await gate.release(d1, true);
    assert.equal(await d2.getState(), "waiting");
    assert.equal(await redis.hget(orderDeliveredKey(prefix, sinkQueueName(sink)), "d"), "1");
  });

  it("a release of a job already released does not cut the new head's retry backoff short", async () => {
    const g1 = await job("g", 1);
    const g2 = await job("g", 2, { delay: 600_000 }); // the head now, waiting out a retry backoff
    await redis.zrem(pending("g"), g1.id!);
    await gate.release(g1, true);
    assert.equal(await g2.getState(), "delayed");
  });

  it("a job outside the pending sets goes at once, marked outoforder only when the sink already has a later event", async () => {
    const e5 = await job("e", 5);
    await gate.release(e5, true);
    const late = await gate.admit(await job("e", 3, { free: true }));
    const next = await gate.admit(await job("e", 6, { free: true }));
    assert.ok(late.verdict === "deliver" && late.event.outoforder === true);
    assert.ok(next.verdict === "deliver" && next.event.outoforder === undefined);
  });

  it("a dead-lettered head releases its repository without raising the delivered mark", async () => {
    const f1 = await job("f", 1);
    const f2 = await job("f", 2, { delay: 600_000 });
    await f1.remove();
    await gate.release(f1, false);
    assert.equal(await f2.getState(), "waiting");
    assert.equal(await redis.hget(orderDeliveredKey(prefix, sinkQueueName(sink)), "f"), null);
  });
});

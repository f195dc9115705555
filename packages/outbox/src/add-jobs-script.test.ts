import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BerthEvent, formatSequence } from "@berth/events";
import { deliveryJobId, eventLogKey, orderPendingKey, readEventLog, sequenceKey, sequencedKey, sinkQueueName } from "@berth/queue";
import { SHARED_REDIS_URL, deleteKeysByPrefix, startRedisServer, uniqueName, waitFor } from "@berth/testing";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { createEnqueuer } from "./enqueue.js";
import { type QueueBatch, createJobRouter } from "./job-router.js";
import { testEvent, testSink } from "./test-support/outbox-fixtures.js";
import { keysWithPrefix } from "./test-support/redis-keys.js";

// The filtered, ordered sink comes first, so an event it skips appears in a later batch than the
// events after it: sequence order must still be publish order.
const sinks = [
  testSink({ name: "updates", events: ["image.updated"], ordering: "repository" }),
  testSink({ name: "hook" }),
  testSink({ name: "bus", type: "nats", channel: "x" }),
];
const router = createJobRouter(sinks);
const LOG = { maxAgeMs: 86_400_000, maxEvents: 1_000, maxManifestBytes: 0 };

/**
 * Everything under a prefix, made comparable: keys without the prefix, stream entry ids replaced
 * by their position, job timestamps checked to be numbers then blanked, stored opts parsed (Lua's
 * cjson and JSON.stringify spell the same object differently).
 */
async function snapshot(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await keysWithPrefix(redis, prefix)).sort()) {
    const name = key.slice(prefix.length + 1);
    const type = await redis.type(key);
    if (type === "hash") {
      const hash: Record<string, unknown> = await redis.hgetall(key);
      if ("timestamp" in hash) {
        assert.match(String(hash.timestamp), /^\d+$/, `${name}.timestamp`);
        hash.timestamp = "<ts>";
      }
      if (typeof hash.opts === "string") hash.opts = JSON.parse(hash.opts);
      out[name] = hash;
    } else if (type === "list") out[name] = await redis.lrange(key, 0, -1);
    else if (type === "zset") out[name] = await redis.zrange(key, "0", "-1", "WITHSCORES");
    else if (type === "string") out[name] = await redis.get(key);
    else if (type === "stream") out[name] = (await redis.xrange(key, "-", "+")).map(([, fields]) => fields);
    else out[name] = `<${type}>`;
  }
  return out;
}

async function withQueue(redis: Redis, prefix: string, queueName: string, use: (q: Queue) => Promise<unknown>): Promise<void> {
  const queue = new Queue(queueName, { connection: redis, prefix, skipVersionCheck: true });
  try {
    await use(queue);
  } finally {
    await queue.close();
  }
}

/**
 * BullMQ's own path for the same events: Queue.add per job, plus Berth's additions spelled out in
 * client code: an event with at least one new job takes its repository's next sequence (HINCRBY,
 * in publish order), is remembered as sequenced and is appended to the event log; an event
 * already remembered is skipped whole; a new job of an ordered sink joins its repository's
 * pending set.
 */
async function addWithBullMQ(redis: Redis, prefix: string, events: readonly BerthEvent[]): Promise<void> {
  const batches = router.route(events);
  const jobKey = (b: QueueBatch, id: string | undefined) => `${prefix}:${b.queueName}:${id}`;
  const stamped = new Map<BerthEvent, BerthEvent>();
  const skipped = new Set<BerthEvent>();
  for (const event of events) {
    const keys = batches.flatMap((b) => b.jobs.filter((j) => j.data.event === event).map((j) => jobKey(b, j.opts.jobId)));
    if (keys.length === 0) continue;
    if (await redis.exists(sequencedKey(prefix, event.id))) {
      skipped.add(event);
      continue;
    }
    const anyNew = (await Promise.all(keys.map((k) => redis.exists(k)))).includes(0);
    const n = anyNew ? await redis.hincrby(sequenceKey(prefix), event.data.name, 1) : undefined;
    if (n !== undefined) await redis.set(sequencedKey(prefix, event.id), n, "EX", 86_400);
    const sequence = n === undefined ? undefined : formatSequence(n);
    stamped.set(event, sequence === undefined ? event : { ...event, sequence });
    if (sequence !== undefined) await redis.xadd(eventLogKey(prefix), "*", "event", JSON.stringify({ ...event, sequence }));
  }
  for (const batch of batches) {
    await withQueue(redis, prefix, batch.queueName, async (queue) => {
      for (const job of batch.jobs) {
        if (skipped.has(job.data.event)) continue;
        const event = stamped.get(job.data.event) as BerthEvent;
        const isNew = (await redis.exists(jobKey(batch, job.opts.jobId))) === 0;
        await queue.add(job.name, { ...job.data, event }, job.opts);
        if (batch.ordered && isNew) {
          await redis.zadd(orderPendingKey(prefix, batch.queueName, event.data.name), Number(event.sequence), job.opts.jobId as string);
        }
      }
    });
  }
}

describe("the add-jobs script writes what BullMQ's Queue.add writes", () => {
  let redis: Redis;
  const prefixes: string[] = [];

  before(async () => {
    redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    await redis.ping();
  });
  after(async () => {
    for (const prefix of prefixes) await deleteKeysByPrefix(redis, prefix);
    redis.disconnect();
  });

  /** The same steps on a BullMQ prefix and on a script prefix; returns both snapshots. */
  async function bothWays(steps: (add: (events: BerthEvent[]) => Promise<void>, prefix: string) => Promise<void>) {
    const viaBullMQ = uniqueName("add-bullmq");
    const viaScript = uniqueName("add-script");
    prefixes.push(viaBullMQ, viaScript);
    await steps((events) => addWithBullMQ(redis, viaBullMQ, events), viaBullMQ);
    const enqueuer = createEnqueuer(redis, viaScript, LOG);
    await steps((events) => enqueuer.enqueue({ events, batches: router.route(events) }, 5_000), viaScript);
    await enqueuer.close();
    return { bullmq: await snapshot(redis, viaBullMQ), script: await snapshot(redis, viaScript) };
  }

  it("for new jobs in two fresh queues: job hashes, wait lists, id counters, meta, markers and event streams", async () => {
    const events = [testEvent("image.updated", "a/b", "v1"), testEvent("image.deleted", "a/b", "v1"), testEvent("repository.created", "c")];
    const { bullmq, script } = await bothWays((add) => add(events));
    assert.ok(Object.keys(bullmq).length >= 10, `BullMQ wrote ${Object.keys(bullmq).join(", ")}`);
    assert.deepEqual(script, bullmq);
  });

  it("for an event added again (a relay re-add): skipped whole, even after its jobs were delivered and removed", async () => {
    const event = testEvent("image.updated", "dup/repo");
    const { bullmq, script } = await bothWays(async (add, prefix) => {
      await add([event]);
      // A worker delivered and removed one sink's job before the relay re-added the event.
      const [first] = router.route([event]);
      await redis.del(`${prefix}:${first!.queueName}:${first!.jobs[0]!.opts.jobId}`);
      await redis.lrem(`${prefix}:${first!.queueName}:wait`, 0, first!.jobs[0]!.opts.jobId as string);
      await add([event]);
    });
    assert.deepEqual(script, bullmq);
    assert.deepEqual(script["berth:sequence"], { "dup/repo": "1" }, "a re-add takes no sequence number");
    assert.ok(!Object.keys(script).some((k) => k === `${sinkQueueName(sinks[0]!)}:${event.id}.updates`), "not added again");
  });

  it("for a job id that already exists once the event's marker expired: nothing rewritten, a 'duplicated' event", async () => {
    const event = testEvent("image.updated", "dup/old");
    const { bullmq, script } = await bothWays(async (add, prefix) => {
      await add([event]);
      await redis.del(sequencedKey(prefix, event.id));
      await add([event]);
    });
    assert.deepEqual(script, bullmq);
    assert.deepEqual(script["berth:sequence"], { "dup/old": "1" }, "every job existed: no new number");
    const stream = Object.entries(script).find(([k]) => k.endsWith(":events"))?.[1] as string[][];
    assert.ok(stream.some((fields) => fields.includes("duplicated")));
  });

  it("for a paused queue: the job waits without a marker", async () => {
    const event = testEvent("image.updated", "p/q");
    const { bullmq, script } = await bothWays(async (add, prefix) => {
      for (const batch of router.route([event])) await withQueue(redis, prefix, batch.queueName, (q) => q.pause());
      await add([event]);
    });
    assert.deepEqual(script, bullmq);
    assert.ok(!Object.keys(script).some((k) => k.endsWith(":marker")), "no marker while paused");
  });

  it("for a queue at its global concurrency limit: the job waits without a marker", async () => {
    const event = testEvent("image.updated", "c/d");
    const { bullmq, script } = await bothWays(async (add, prefix) => {
      for (const batch of router.route([event])) {
        await withQueue(redis, prefix, batch.queueName, (q) => q.setGlobalConcurrency(1));
        await redis.lpush(`${prefix}:${batch.queueName}:active`, "busy");
      }
      await add([event]);
    });
    assert.deepEqual(script, bullmq);
  });

  it("each event takes its repository's next sequence in publish order, the same in every sink's job", async () => {
    const prefix = uniqueName("add-seq");
    prefixes.push(prefix);
    const enqueuer = createEnqueuer(redis, prefix, LOG);
    const publish = (events: BerthEvent[]) => enqueuer.enqueue({ events, batches: router.route(events) }, 5_000);
    // repository.created is skipped by the first (filtered) sink: it must still come first.
    const first = [testEvent("repository.created", "s/a"), testEvent("image.updated", "s/a", "1"), testEvent("repository.created", "s/b")];
    const second = [testEvent("image.deleted", "s/a", "1"), testEvent("image.updated", "s/b", "2"), testEvent("image.updated", "s/a", "3")];
    try {
      // Two publishes at once: two calls in flight, the first still waiting for its queues' init
      // when the second starts; the second's call still goes to Redis after the first's.
      await Promise.all([publish(first), publish(second)]);
      const expected = new Map([
        [first[0], "s/a#1"], [first[1], "s/a#2"], [first[2], "s/b#1"],
        [second[0], "s/a#3"], [second[1], "s/b#2"], [second[2], "s/a#4"],
      ].map(([e, v]) => [(e as BerthEvent).id, v as string]));
      for (const sink of sinks) {
        const queue = `${prefix}:${sinkQueueName(sink)}:`;
        for (const id of await redis.lrange(`${queue}wait`, 0, -1)) {
          const { event } = JSON.parse((await redis.hget(`${queue}${id}`, "data")) as string) as { event: BerthEvent };
          assert.match(event.sequence ?? "", /^\d{20}$/);
          assert.equal(`${event.data.name}#${Number(event.sequence)}`, expected.get(event.id), `${sink.name} ${event.type}`);
        }
      }
      assert.deepEqual(await redis.hgetall(sequenceKey(prefix)), { "s/a": "4", "s/b": "2" });
      // Only the ordered sink keeps pending sets: its image.updated jobs, scored by sequence.
      const pending = await redis.zrange(orderPendingKey(prefix, sinkQueueName(sinks[0]!), "s/a"), "0", "-1", "WITHSCORES");
      assert.deepEqual(pending, [`${first[1]!.id}.updates`, "2", `${second[2]!.id}.updates`, "4"]);
      assert.equal(await redis.exists(orderPendingKey(prefix, sinkQueueName(sinks[1]!), "s/a")), 0);
      // The event log holds each event once, with its sequence, in sequence order.
      const logged: string[] = [];
      for await (const entry of readEventLog(redis, prefix)) logged.push(`${entry.event.data.name}#${Number(entry.event.sequence)}`);
      assert.deepEqual(logged, [...first, ...second].map((e) => expected.get(e.id)));
    } finally {
      await enqueuer.close();
    }
  });

  it("a publish whose queue is ready goes to Redis after an earlier one still waiting for its queue's init", async () => {
    const prefix = uniqueName("add-turn");
    prefixes.push(prefix);
    const split = createJobRouter([testSink({ name: "created", events: ["repository.created"] }), testSink({ name: "updated", events: ["image.updated"] })]);
    const enqueuer = createEnqueuer(redis, prefix, LOG);
    const publish = (events: BerthEvent[]) => enqueuer.enqueue({ events, batches: split.route(events) }, 5_000);
    try {
      await publish([testEvent("image.updated", "warm/up")]);
      // "created"'s queue is new (its init is a round trip); "updated"'s is ready.
      const created = testEvent("repository.created", "t/a");
      const updated = testEvent("image.updated", "t/a", "1");
      await Promise.all([publish([created]), publish([updated])]);
      const sequenceOf = async (sink: string, id: string) => {
        const data = await redis.hget(`${prefix}:${sinkQueueName(testSink({ name: sink }))}:${deliveryJobId(id, sink)}`, "data");
        return Number((JSON.parse(data as string) as { event: BerthEvent }).event.sequence);
      };
      assert.deepEqual([await sequenceOf("created", created.id), await sequenceOf("updated", updated.id)], [1, 2]);
    } finally {
      await enqueuer.close();
    }
  });

  it("the event log is bounded by count (approximately, whole stream nodes) and by age (exactly)", async () => {
    const prefix = uniqueName("add-log");
    prefixes.push(prefix);
    const add = async (enqueuer: ReturnType<typeof createEnqueuer>, n: number, tag: string) => {
      const events = Array.from({ length: n }, (_, i) => testEvent("image.updated", "log/r", `${tag}${i}`));
      await enqueuer.enqueue({ events, batches: router.route(events) }, 5_000);
      return events;
    };
    const byCount = createEnqueuer(redis, prefix, { maxAgeMs: 86_400_000, maxEvents: 100, maxManifestBytes: 0 });
    const last = (await add(byCount, 350, "c")).at(-1)!;
    const length = await redis.xlen(eventLogKey(prefix));
    assert.ok(length >= 100 && length < 200, `${length} entries kept for maxEvents 100`);
    const [[, newest] = ["", []]] = await redis.xrevrange(eventLogKey(prefix), "+", "-", "COUNT", 1);
    assert.equal((JSON.parse(newest[1]!) as BerthEvent).id, last.id);
    await byCount.close();

    const byAge = createEnqueuer(redis, prefix, { maxAgeMs: 50, maxEvents: 100, maxManifestBytes: 0 });
    const before = Date.now();
    await waitFor("50 ms to pass", () => Date.now() > before + 60);
    const fresh = await add(byAge, 3, "a");
    const kept: string[] = [];
    for await (const entry of readEventLog(redis, prefix)) kept.push(entry.event.id);
    assert.deepEqual(kept, fresh.map((e) => e.id), "only the events younger than maxAge");
    await byAge.close();
  });

  it("a BullMQ worker already waiting on the queue takes a job the script added", async () => {
    const prefix = uniqueName("add-worker");
    prefixes.push(prefix);
    const [batch] = router.route([testEvent("image.updated", "w/x")]);
    assert.ok(batch);
    const seen: unknown[] = [];
    // Its own connection, closed below: BullMQ leaves a connection it was given open, and the test process would never exit.
    const workerConnection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(batch.queueName, async (job) => void seen.push(job.data), {
      connection: workerConnection,
      prefix,
      skipVersionCheck: true,
    });
    await worker.waitUntilReady();
    const enqueuer = createEnqueuer(redis, prefix);
    try {
      await enqueuer.enqueue({ events: batch.jobs.map((j) => j.data.event), batches: [batch] }, 5_000);
      await waitFor("the worker to process the job", () => seen.length === 1);
      const data = JSON.parse(JSON.stringify(batch.jobs[0]?.data)) as { event: BerthEvent };
      assert.deepEqual(seen[0], { ...data, event: { ...data.event, sequence: formatSequence(1) } });
    } finally {
      await worker.close();
      await enqueuer.close();
      workerConnection.disconnect();
    }
  });

  it("after Redis forgets its scripts (a restart, SCRIPT FLUSH) the next add loads the script again", async () => {
    const server = await startRedisServer();
    const own = new Redis(server.url, { maxRetriesPerRequest: null });
    const enqueuer = createEnqueuer(own, "flush");
    try {
      const add = (events: BerthEvent[]) => enqueuer.enqueue({ events, batches: router.route(events) }, 5_000);
      await add([testEvent("image.updated", "f/1")]);
      await own.script("FLUSH");
      await add([testEvent("image.updated", "f/2")]);
      for (const sink of sinks) assert.equal(await own.llen(`flush:${sinkQueueName(sink)}:wait`), 2, sink.name);
    } finally {
      await enqueuer.close();
      own.disconnect();
      await server.destroy();
    }
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DELIVERY_JOB_NAME, type DeliveryJobData, deliveryJobId, deliveryJobOptions, sinkQueueName } from "@berth/queue";
import { SHARED_REDIS_URL, uniqueName, waitFor } from "@berth/testing";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import {
  DeadLetterNotFoundError,
  type SinkAdminContext,
  UnknownSinkError,
  countDeadLetters,
  findSink,
  listDeadLetters,
  purgeDeadLetters,
  replayDeadLetterById,
  replayDeadLetters,
  startDeadLetterParker,
} from "./index.js";
import { berthConfig, deleteKeysByPrefix, httpSinkConfig, sampleEvent, seedDeadLetters } from "./test-support/index.js";

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("sink-admin dead letters (real Redis)", () => {
  let connection: Redis;
  let ctx: SinkAdminContext;
  before(() => {
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    ctx = { connection, prefix: uniqueName("sink-admin") };
  });
  after(async () => {
    await deleteKeysByPrefix(connection, ctx.prefix);
    await connection.quit();
  });

  test("findSink names the configured sinks when the name is unknown", () => {
    const config = berthConfig([httpSinkConfig("audit")], SHARED_REDIS_URL, "x");
    assert.equal(findSink(config, "audit").name, "audit");
    assert.throws(() => findSink(config, "nope"), (err) => err instanceof UnknownSinkError && err.known[0] === "audit");
  });

  test("list filters by failure time and by event type or kind", async () => {
    const sink = httpSinkConfig("list");
    const t0 = Date.parse("2024-05-01T10:00:00Z");
    const updated = [sampleEvent("image.updated"), sampleEvent("image.updated")];
    const created = sampleEvent("repository.created", "team/app");
    await seedDeadLetters(connection, ctx.prefix, sink, updated, t0);
    await seedDeadLetters(connection, ctx.prefix, sink, [created], t0 + 3_600_000);

    const all = await collect(listDeadLetters({ ...ctx, sink }));
    assert.deepEqual(all.map((l) => l.data.event.id), [...updated, created].map((e) => e.id));
    assert.ok(all.every((l) => l.state === "waiting"));
    const recent = await collect(listDeadLetters({ ...ctx, sink, since: new Date(t0 + 1) }));
    assert.deepEqual(recent.map((l) => l.data.event.id), [created.id]);
    const byKind = await collect(listDeadLetters({ ...ctx, sink, type: "image.updated" }));
    assert.equal(byKind.length, 2);
    const byType = await collect(listDeadLetters({ ...ctx, sink, type: "zotregistry.repository.created" }));
    assert.deepEqual(byType.map((l) => l.data.event.data.name), ["team/app"]);
    assert.equal(await countDeadLetters({ ...ctx, sink }), 3);
  });

  test("replay re-adds the original events, replaces a stale job, skips a pending one", async () => {
    const sink = httpSinkConfig("replay");
    const events = [sampleEvent(), sampleEvent(), sampleEvent(), sampleEvent()];
    const [stale, pending] = events as [ReturnType<typeof sampleEvent>, ReturnType<typeof sampleEvent>];
    const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection, prefix: ctx.prefix });
    // A failed original left behind in the sink queue: its job id would swallow a plain re-add.
    await queue.add(DELIVERY_JOB_NAME, { event: stale, sink: sink.name }, { ...deliveryJobOptions(sink, stale.id), attempts: 1 });
    const failer = new Worker(queue.name, async () => { throw new UnrecoverableError("boom"); }, { connection, prefix: ctx.prefix });
    await waitFor("stale job failed", async () => (await queue.getJobState(deliveryJobId(stale.id, sink.name))) === "failed");
    await failer.close();
    await queue.add(DELIVERY_JOB_NAME, { event: pending, sink: sink.name }, deliveryJobOptions(sink, pending.id));
    await seedDeadLetters(connection, ctx.prefix, sink, events);

    const progress: number[] = [];
    const result = await replayDeadLetters({ ...ctx, sink, onProgress: (p) => progress.push(p.done) });
    assert.equal(result.replayed, 3);
    assert.equal(result.alreadyQueued, 1);
    assert.equal(result.failed, 0, String(result.errors));
    assert.equal(Math.max(...progress), 4);
    assert.equal(await countDeadLetters({ ...ctx, sink }), 0);
    const waiting = await queue.getJobs(["waiting"]);
    assert.deepEqual(
      waiting.map((j) => j.id).sort(),
      events.map((e) => deliveryJobId(e.id, sink.name)).sort(),
    );
    for (const job of waiting) assert.equal(job.id, deliveryJobId(job.data.event.id, sink.name));
    await queue.close();
  });

  test("replay keeps a letter whose failed job is still being moved, and goes through once it is gone", async () => {
    const sink = httpSinkConfig("moving");
    const event = sampleEvent();
    const jobId = deliveryJobId(event.id, sink.name);
    const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection, prefix: ctx.prefix });
    await queue.add(DELIVERY_JOB_NAME, { event, sink: sink.name }, { ...deliveryJobOptions(sink, event.id), attempts: 1 });
    const failer = new Worker(queue.name, async () => { throw new UnrecoverableError("boom"); }, { connection, prefix: ctx.prefix });
    await waitFor("job failed", async () => (await queue.getJobState(jobId)) === "failed");
    await failer.close();
    // The letter of this very failure (enqueuedAt = the job's creation time), written by a worker
    // that has not removed the failed job yet.
    const failed = await queue.getJob(jobId);
    await seedDeadLetters(connection, ctx.prefix, sink, [event], (failed?.timestamp ?? 0) + 1_000);

    const refused = await replayDeadLetters({ ...ctx, sink });
    assert.equal(refused.failed, 1);
    assert.match(String(refused.errors[0]?.message), /still being moved/);
    assert.equal(await countDeadLetters({ ...ctx, sink }), 1, "the letter is kept");
    assert.equal(await queue.getJobState(jobId), "failed", "and the failed job left to its mover");

    await queue.remove(jobId);
    const replayed = await replayDeadLetters({ ...ctx, sink });
    assert.equal(replayed.replayed, 1, String(replayed.errors));
    assert.equal(await countDeadLetters({ ...ctx, sink }), 0);
    assert.equal(await queue.getJobState(jobId), "waiting");
    await queue.close();
  });

  test("replay leaves a malformed dead letter in place and reports it; by-id replay of a missing job fails typed", async () => {
    const sink = httpSinkConfig("malformed");
    const dlq = new Queue(`${sinkQueueName(sink)}.dead`, { connection, prefix: ctx.prefix });
    await dlq.add("dead-letter", { nothing: "here" });
    const result = await replayDeadLetters({ ...ctx, sink });
    assert.equal(result.failed, 1);
    assert.equal(result.errors[0]?.code, "REPLAY_FAILED");
    assert.equal(await dlq.count(), 1);
    await dlq.close();
    await assert.rejects(replayDeadLetterById({ ...ctx, sink, jobId: "404" }), DeadLetterNotFoundError);
  });

  test("purge removes matching dead letters, then all", async () => {
    const sink = httpSinkConfig("purge");
    await seedDeadLetters(connection, ctx.prefix, sink, [sampleEvent("image.deleted"), sampleEvent("image.updated")]);
    assert.deepEqual(await purgeDeadLetters({ ...ctx, sink, type: "image.deleted" }), { removed: 1, kept: 0 });
    const left = await collect(listDeadLetters({ ...ctx, sink }));
    assert.deepEqual(left.map((l) => l.data.event.type), ["zotregistry.image.updated"]);
    assert.deepEqual(await purgeDeadLetters({ ...ctx, sink }), { removed: 1, kept: 0 });
    assert.equal(await countDeadLetters({ ...ctx, sink }), 0);
  });

  test("the parker turns waiting dead letters into failed jobs carrying the last error; they still replay", async () => {
    const sink = httpSinkConfig("parker");
    const events = [sampleEvent(), sampleEvent()];
    await seedDeadLetters(connection, ctx.prefix, sink, events);
    const parker = startDeadLetterParker({ connection, prefix: ctx.prefix, sinks: [sink] });
    try {
      const dlq = new Queue(`${sinkQueueName(sink)}.dead`, { connection, prefix: ctx.prefix });
      const failed = await waitFor("dead letters parked", async () => {
        const jobs = await dlq.getFailed();
        return jobs.length === 2 ? jobs : undefined;
      });
      for (const job of failed) {
        assert.match(job.failedReason, /^http_503: HTTP 503 Service Unavailable \(dead-lettered after 3 attempt/);
        assert.match(job.stacktrace?.[0] ?? "", /^TransientDeliveryError: http_503: .*\n {4}event /);
        assert.match((await dlq.getJobLogs(job.id!)).logs[0] ?? "", /attempts 3, first queued/);
      }
      const listed = await collect(listDeadLetters({ ...ctx, sink }));
      assert.deepEqual(listed.map((l) => l.state), ["failed", "failed"]);
      assert.equal(await replayDeadLetterById({ ...ctx, sink, jobId: failed[0]!.id! }), "replayed");
      assert.equal(await dlq.getFailedCount(), 1);
      await dlq.close();
    } finally {
      await parker.close();
    }
  });
});

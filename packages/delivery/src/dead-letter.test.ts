/**
 * Dead-lettering when the dead-letter queue already holds a letter for the same event and sink
 * (same job id): a replayed event that fails again must be recorded, never silently dropped.
 * Real BullMQ on real Redis.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SinkConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import {
  type DeadLetterJobData,
  type DeliveryJobData,
  adminConnection,
  deadLetterQueueName,
  deliveryJobId,
  getSinkStatus,
  sinkQueueName,
} from "@berth/queue";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, testSinkConfig, uniqueName, waitFor } from "@berth/testing";
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
// By path, not by package name: @berth/delivery-contract depends on this package, and a
// devDependency back would make the workspace graph cyclic.
import { configWithSink, enqueue, sampleEvent } from "../../delivery-contract/src/fixtures.js";
import { DeadLetterBusyError, moveToDeadLetters, sweepFailedJobs } from "./dead-letter.js";
import { PermanentDeliveryError } from "./delivery-errors.js";
import { startDeliveryRuntime } from "./runtime.js";
import type { Sink } from "./sink.js";

function sinkConfig(): SinkConfig {
  return testSinkConfig({ name: "dl", type: "http" });
}

/** A destination that refuses every delivery for good, naming the refusal by its count. */
function refusingSink(name: string): { sink: Sink; refusals: () => number } {
  let refusals = 0;
  return {
    refusals: () => refusals,
    sink: {
      name,
      async deliver() {
        refusals++;
        throw new PermanentDeliveryError(`refusal_${refusals}`, `refused (${refusals})`);
      },
      async close() {},
    },
  };
}

describe("dead-lettering an event that already has a dead letter", () => {
  const conn = adminConnection(SHARED_REDIS_URL);
  const prefixes: string[] = [];
  after(async () => {
    for (const p of prefixes) await deleteKeysByPrefix(conn, p);
    await conn.quit();
  });

  function queues() {
    const prefix = uniqueName("deadletter");
    prefixes.push(prefix);
    const sink = sinkConfig();
    const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection: conn, prefix });
    const deadLetters = new Queue<DeadLetterJobData>(deadLetterQueueName(sink), { connection: conn, prefix });
    const close = () => Promise.all([queue.close(), deadLetters.close()]);
    return { prefix, sink, queue, deadLetters, close };
  }

  /** Adds the event's delivery job and fails it for good with a plain BullMQ worker. */
  async function failedJob(prefix: string, sink: SinkConfig, event: BerthEvent): Promise<Job<DeliveryJobData>> {
    await enqueue(conn, prefix, sink, [event]);
    const connection = conn.duplicate({ maxRetriesPerRequest: null });
    const worker = new Worker<DeliveryJobData>(
      sinkQueueName(sink),
      async () => {
        throw new UnrecoverableError("refused");
      },
      { connection, prefix, autorun: false },
    );
    const failed = new Promise<Job<DeliveryJobData>>((resolve) => worker.on("failed", (job) => job && resolve(job)));
    void worker.run();
    try {
      return await failed;
    } finally {
      await worker.close();
      await connection.quit();
    }
  }
  const failure = (reason: string) => ({ name: "PermanentDeliveryError", message: reason, reason });

  it("through the runtime: the replayed event's second failure replaces the letter left behind", async () => {
    const { prefix, sink, deadLetters, close } = queues();
    const refusing = refusingSink(sink.name);
    const runtime = await startDeliveryRuntime({
      config: configWithSink(sink, SHARED_REDIS_URL, prefix),
      sinkType: "http",
      createSink: () => refusing.sink,
      logger: silentLogger(),
      metrics: createMetricsRegistry("test"),
    });
    try {
      const event = sampleEvent(1);
      const id = deliveryJobId(event.id, sink.name);
      await enqueue(conn, prefix, sink, [event]);
      const first = await waitFor("first dead letter", () => deadLetters.getJob(id));
      assert.equal(first.data.error.reason, "refusal_1");
      const history = await waitFor("attempt history copied onto the dead letter", async () => {
        const { logs } = await deadLetters.getJobLogs(id);
        return logs.length > 0 ? logs : undefined;
      });
      assert.match(history.join("\n"), /attempt 1/);

      // A replay that re-queued the event (same job id, as replayDeadLetter does) but left the
      // dead letter where it was.
      await enqueue(conn, prefix, sink, [event]);
      const second = await waitFor("the dead letter of the second failure", async () => {
        const letter = await deadLetters.getJob(id);
        return letter?.data.error.reason === "refusal_2" ? letter : undefined;
      });
      assert.equal(refusing.refusals(), 2);
      assert.equal(second.data.event.id, event.id);
      assert.ok(second.data.enqueuedAt > first.data.enqueuedAt, "records the replayed job, not the original");
      assert.ok(second.data.failedAt >= second.data.enqueuedAt);
      const status = await waitFor("failed job removed", async () => {
        const s = await getSinkStatus(conn, prefix, sink);
        return s.failed === 0 ? s : undefined;
      });
      assert.equal(status.deadLetters, 1, "one letter per event and sink");
      assert.equal(status.waiting + status.delayed + status.active, 0);
    } finally {
      await runtime.close(1_000);
      await close();
    }
  });

  it("repeating the move of the same failure keeps the letter as it is", async () => {
    const { prefix, sink, queue, deadLetters, close } = queues();
    try {
      const job = await failedJob(prefix, sink, sampleEvent(2));
      assert.equal(await moveToDeadLetters(job, failure("first"), queue, deadLetters), "added");
      const letter = await deadLetters.getJob(job.id!);
      // A sweep repeating a move that a crashed process had half-done.
      assert.equal(await moveToDeadLetters(job, failure("again"), queue, deadLetters), "kept");
      const after = await deadLetters.getJob(job.id!);
      assert.equal(after?.timestamp, letter?.timestamp);
      assert.equal(after?.data.error.reason, "first");
      assert.equal(await deadLetters.count(), 1);
    } finally {
      await close();
    }
  });

  it("an earlier letter locked at that instant: the failed job is kept, and the sweep replaces the letter later", async () => {
    const { prefix, sink, queue, deadLetters, close } = queues();
    const event = sampleEvent(3);
    const first = await failedJob(prefix, sink, event);
    await moveToDeadLetters(first, failure("first"), queue, deadLetters);
    // Something (the dashboard's parker) holds the old letter's lock while the replay fails again.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holderConnection = conn.duplicate({ maxRetriesPerRequest: null });
    const holder = new Worker<DeadLetterJobData>(deadLetterQueueName(sink), () => held, {
      connection: holderConnection,
      prefix,
    });
    try {
      await waitFor("old letter locked", async () => (await deadLetters.getJobState(first.id!)) === "active");
      const second = await failedJob(prefix, sink, event);
      assert.notEqual(second.timestamp, first.timestamp);
      await assert.rejects(moveToDeadLetters(second, failure("second"), queue, deadLetters), DeadLetterBusyError);
      assert.equal(await queue.getJobState(second.id!), "failed", "kept in the failed set: nothing lost");

      release();
      await waitFor("old letter released", async () => (await deadLetters.getJobState(first.id!)) !== "active");
      await holder.close();
      assert.equal(await sweepFailedJobs(queue, deadLetters), 1);
      const letter = await deadLetters.getJob(second.id!);
      assert.equal(letter?.data.enqueuedAt, second.timestamp);
      assert.equal(await queue.getJobState(second.id!), "unknown");
    } finally {
      release();
      await holder.close();
      await holderConnection.quit();
      await close();
    }
  });
});

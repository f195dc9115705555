/**
 * The bench's BullMQ bulk add paths (issue 15) must do the work the add-jobs script does, or the
 * outbox case would compare unequal things: the same jobs (data byte for byte, with the same
 * sequences), the same event log, for the same publishes. Real Redis.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { readEventLog, sinkQueueName } from "@berth/queue";
import { SHARED_REDIS_URL, deleteKeysByPrefix, uniqueName } from "@berth/testing";
import { Redis } from "ioredis";
import type { AddPath } from "./bulk-add-paths.js";
import { createEnqueuer } from "./enqueue.js";
import { createJobRouter } from "./job-router.js";
import { testEvent, testSink } from "./test-support/outbox-fixtures.js";
import { waitingJobs } from "./test-support/queue-contents.js";

const sinks = [testSink({ name: "hook" }), testSink({ name: "thin", payload: "thin" }), testSink({ name: "bus", type: "nats", channel: "x" })];
const router = createJobRouter(sinks);
const LOG = { maxAgeMs: 86_400_000, maxEvents: 1_000, maxManifestBytes: 0 };

describe("bench-only bulk add paths write what the add-jobs script writes (real Redis)", () => {
  let redis: Redis;
  const prefixes: string[] = [];
  before(() => {
    redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  });
  after(async () => {
    for (const p of prefixes) await deleteKeysByPrefix(redis, p);
    redis.disconnect();
  });

  const events = [
    testEvent("repository.created", "b/one"),
    testEvent("image.updated", "b/one", "v1"),
    testEvent("image.updated", "b/two", "v1"),
    testEvent("image.deleted", "b/one", "v0"),
  ];

  /** Two publishes (the second in the same group as the first when they overlap), then the contents. */
  async function written(path: AddPath) {
    const prefix = uniqueName(`bulk-${path}`);
    prefixes.push(prefix);
    const enqueuer = createEnqueuer(redis, prefix, LOG, undefined, path);
    try {
      const first = events.slice(0, 2);
      const second = events.slice(2);
      await Promise.all([first, second].map((batch) => enqueuer.enqueue({ events: batch, batches: router.route(batch) }, 5_000)));
      // A re-add of an event already sequenced is skipped whole.
      await enqueuer.enqueue({ events: [events[1]!], batches: router.route([events[1]!]) }, 5_000);
    } finally {
      await enqueuer.close();
    }
    const jobs: Record<string, unknown> = {};
    for (const sink of sinks) {
      jobs[sink.name] = (await waitingJobs(redis, prefix, sinkQueueName(sink))).map((j) => [j.id, JSON.stringify(j.data)]).sort();
    }
    const log: unknown[] = [];
    for await (const entry of readEventLog(redis, prefix)) log.push(entry.event);
    return { jobs, log };
  }

  it("Queue.addBulk and FlowProducer.addBulk: same jobs, sequences and log as the script", async () => {
    const script = await written("script");
    assert.equal((script.jobs.hook as unknown[]).length, events.length);
    for (const path of ["queue-add-bulk", "flow-add-bulk"] as const) {
      assert.deepEqual(await written(path), script, path);
    }
  });
});

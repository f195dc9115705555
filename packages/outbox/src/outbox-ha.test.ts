/**
 * The outbox on Redis deployments with replicas: Sentinel and Cluster, each started by the test.
 * With `queue.durability.minReplicas`, a publish whose jobs no replica confirmed in time is
 * journaled (never failed, never hung) and relayed once a replica is back; the relay's re-add of
 * jobs that did land on the master is a no-op, so each queue ends with each event once.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BerthConfig, SinkConfig } from "@berth/config";
import { adminConnection, deliveryJobId, getSinkStatus, pauseSink, resumeSink, sinkQueueName } from "@berth/queue";
import { Registry, silentLogger } from "@berth/telemetry";
import {
  type OwnRedisCluster,
  type OwnRedisSentinel,
  startRedisCluster,
  startRedisSentinel,
  uniqueName,
  waitFor,
  captureLogger,
} from "@berth/testing";
import { Queue } from "bullmq";
import { openOutbox } from "./open-outbox.js";
import { testConfig, testEvent, testSink } from "./test-support/outbox-fixtures.js";
import { waitingJobs } from "./test-support/queue-contents.js";

const sinks: SinkConfig[] = [testSink({ name: "audit" }), testSink({ name: "bus", type: "nats", channel: "reg" })];

async function queuedIds(config: BerthConfig, sink: SinkConfig): Promise<string[]> {
  const conn = adminConnection(config.queue.redis, "berth-test-reader");
  try {
    return (await waitingJobs(conn, config.queue.prefix, sinkQueueName(sink))).map((job) => job.data.event.id);
  } finally {
    conn.disconnect();
  }
}

async function removeJobs(config: BerthConfig, eventId: string): Promise<void> {
  const conn = adminConnection(config.queue.redis, "berth-test-remover");
  try {
    for (const sink of sinks) {
      const queue = new Queue(sinkQueueName(sink), { connection: conn, prefix: config.queue.prefix });
      assert.equal(await queue.remove(deliveryJobId(eventId, sink.name)), 1);
      await queue.close();
    }
  } finally {
    conn.disconnect();
  }
}

async function eachQueueHolds(config: BerthConfig, expected: string[]): Promise<void> {
  for (const sink of sinks) {
    assert.deepEqual((await queuedIds(config, sink)).sort(), [...expected].sort(), `queue of ${sink.name}`);
  }
}

describe("outbox under Sentinel with queue.durability.minReplicas 1", () => {
  let set: OwnRedisSentinel;
  let root: string;
  before(async () => {
    set = await startRedisSentinel({ replicas: 1 });
    root = await mkdtemp(join(tmpdir(), "berth-ha-sentinel-"));
  });
  after(async () => {
    await set?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("enqueues while the replica confirms, journals while it is down, relays each event once when it is back", async () => {
    const config = testConfig({ root, redisUrl: set.topology(), prefix: uniqueName("ha-sentinel"), sinks, minReplicas: 1 });
    const { logger, lines } = captureLogger();
    const outbox = await openOutbox({ config, logger, metrics: new Registry() });
    try {
      await waitFor("producer connection", () => outbox.status().redisConnected);
      const confirmed = Array.from({ length: 10 }, (_, i) => testEvent("image.updated", `ha/${i}`));
      for (const e of confirmed) await outbox.publish([e]);
      assert.equal(outbox.status().journalDepth, 0, "a confirmed enqueue skips the journal");

      const replica = set.nodes[1]!;
      await replica.stop();
      const unconfirmed = Array.from({ length: 5 }, (_, i) => testEvent("image.updated", `ha/u${i}`));
      let rejected = 0;
      for (const e of unconfirmed) await outbox.publish([e]).catch(() => (rejected += 1));
      assert.equal(rejected, 0, "no publish fails for want of a replica");
      assert.equal(outbox.status().journalDepth, 5, "unconfirmed events wait in the journal");
      // The first unconfirmed event's jobs did reach the master before WAIT fell short; say a
      // worker delivered and removed them. The relay, retrying while the replica is away, must
      // ask WAIT before it writes: a write-first retry would put them back for a second delivery
      // at every attempt.
      const first = unconfirmed[0]!;
      await removeJobs(config, first.id);
      const relayFailures = () => lines.filter((l) => l.msg.includes("relay failed")).length;
      const failuresBefore = relayFailures();
      await waitFor("two more relay retries", () => relayFailures() >= failuresBefore + 2, { timeoutMs: 20_000 });
      await eachQueueHolds(config, confirmed.map((e) => e.id));

      await replica.start();
      await set.waitReplica(replica);
      await waitFor("the relay to drain", () => outbox.status().journalDepth === 0, { timeoutMs: 20_000 });
      // Once it is back, the journal is relayed, each event once. The first one's jobs reached
      // this master together with its "sequenced" marker (one script call) and were delivered:
      // the script skips it rather than delivering it a second time. After a failover to a replica
      // that never got that call, marker and jobs would both be missing and it would be added again.
      await eachQueueHolds(config, [...confirmed, ...unconfirmed.slice(1)].map((e) => e.id));
    } finally {
      await outbox.close();
    }
  });
});

describe("outbox on a Redis Cluster (3 masters, 3 replicas)", () => {
  let cluster: OwnRedisCluster;
  let root: string;
  before(async () => {
    cluster = await startRedisCluster();
    root = await mkdtemp(join(tmpdir(), "berth-ha-cluster-"));
  });
  after(async () => {
    await cluster?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("adds to several queues in one script call (hash-tagged prefix), waits for a replica, and sink state works", async () => {
    const config = testConfig({ root, redisUrl: cluster.topology(), prefix: uniqueName("ha-cluster"), sinks, minReplicas: 1 });
    assert.match(config.queue.prefix, /^\{.+\}$/);
    const outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry() });
    try {
      await waitFor("producer connection", () => outbox.status().redisConnected);
      const events = Array.from({ length: 20 }, (_, i) => testEvent("image.updated", `cluster/${i}`));
      await Promise.all(events.map((e) => outbox.publish([e])));
      assert.equal(outbox.status().journalDepth, 0, "every group was confirmed by a replica");
      await eachQueueHolds(config, events.map((e) => e.id));
    } finally {
      await outbox.close();
    }
    const admin = adminConnection(config.queue.redis);
    try {
      await pauseSink(admin, config.queue.prefix, sinks[0]!, "operator", "test");
      assert.equal((await getSinkStatus(admin, config.queue.prefix, sinks[0]!)).paused, true);
      await resumeSink(admin, config.queue.prefix, sinks[0]!);
      const status = await getSinkStatus(admin, config.queue.prefix, sinks[0]!);
      assert.equal(status.paused, false);
      assert.equal(status.waiting, 20);
    } finally {
      admin.disconnect();
    }
  });
});

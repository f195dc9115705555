/**
 * worker-nats on a 3-node NATS cluster (routes, JetStream) with a stream replicated 3 times. The
 * sink's address is one node only, so the worker is connected to that node; it is SIGKILLed while
 * events are delivered. The worker must reconnect to another node (learned from the cluster's
 * INFO) and the stream must end with every event id exactly once (JetStream acks only what the
 * stream's quorum stored; `Nats-Msg-Id` drops the retries of deliveries cut short by the kill).
 *
 * BERTH_NATS_CLUSTER_EVENTS (default 300) sets the number of events.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DELIVERY_JOB_NAME, type DeliveryJobData, deliveryJobOptions, getSinkStatus, sinkQueueName } from "@berth/queue";
import { type OwnNatsCluster, SHARED_REDIS_URL, deleteKeysByPrefix, startNatsCluster, testSinkConfig, uniqueName, waitFor } from "@berth/testing";
import { ManagedProcess, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { readStream } from "./jetstream-stream.js";

const EVENTS = Number(process.env.BERTH_NATS_CLUSTER_EVENTS ?? 300);
const prefix = uniqueName("nats-cluster");
const subject = `berth.cluster.${uniqueName("s").replaceAll("-", "_")}`;
const stream = `CLUSTER_${uniqueName("s").replaceAll("-", "_")}`;

let cluster: OwnNatsCluster;
let tmp: { path: string; remove(): Promise<void> };
let worker: ManagedProcess;
let redis: Redis;

before(async () => {
  cluster = await startNatsCluster({ size: 3 });
  tmp = await makeTempDir("nats-cluster");
  redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 3 });
  // A replicated stream needs the JetStream meta leader, elected once the routes are up.
  await waitFor(
    "a 3-replica stream on the cluster",
    async () => {
      const nc = await connect({ servers: cluster.urls });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: stream, subjects: [subject], num_replicas: 3, duplicate_window: 10 * 60 * 1e9 });
        return true;
      } finally {
        await nc.close();
      }
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  const configFile = await writeJsonFile(tmp.path, "config.json", {
    storage: { rootDirectory: tmp.path },
    log: { level: "info" },
    queue: { redis: SHARED_REDIS_URL, prefix },
    extensions: {
      events: {
        enable: true,
        sinks: [
          {
            name: "cluster-nats",
            type: "nats",
            address: cluster.nodes[0]!.url,
            channel: subject,
            jetstream: true,
            timeout: "2s",
            retry: { attempts: 50, delay: "100ms", maxDelay: "1s" },
            // Publishes fail while the stream elects a new leader; the default 30 s cool-down of
            // an opened breaker would only make the test wait.
            breaker: { threshold: 10, cooldown: "1s" },
          },
        ],
      },
    },
  });
  worker = new ManagedProcess({
    name: "worker-nats",
    script: "apps/worker-nats/src/main.ts",
    args: ["--config", configFile, "--port", "0"],
    ready: { log: (l) => typeof l.port === "number" && /worker ready/.test(String(l.msg)) },
  });
  await worker.start();
});

after(async () => {
  await worker?.stop();
  if (redis) await deleteKeysByPrefix(redis, prefix).catch(() => {});
  redis?.disconnect();
  await tmp?.remove();
  await cluster?.destroy();
});

test(`the node worker-nats is connected to dies mid-load: the R3 stream holds each of ${EVENTS} event ids once`, { timeout: 180_000 }, async () => {
  const sink = testSinkConfig({ type: "nats", name: "cluster-nats", retry: { attempts: 50, delayMs: 100, maxDelayMs: 1_000 } });
  const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection: redis, prefix });
  const ids = Array.from({ length: EVENTS }, (_, i) => `${uniqueName("ev")}-${i}`);
  try {
    await queue.addBulk(
      ids.map((id) => ({
        name: DELIVERY_JOB_NAME,
        data: {
          event: { specversion: "1.0", id, source: "berth.test", type: "zotregistry.image.updated", time: new Date().toISOString(), datacontenttype: "application/json", data: { name: "cluster/app" } },
          sink: sink.name,
        },
        opts: deliveryJobOptions(sink, id),
      })) as never,
    );
  } finally {
    await queue.close();
  }
  const survivor = cluster.nodes[1]!.url;
  const stored = async () => {
    const nc = await connect({ servers: survivor });
    try {
      return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    } finally {
      await nc.close();
    }
  };
  await waitFor("a third of the events in the stream", async () => (await stored()) >= EVENTS / 3, { timeoutMs: 60_000, intervalMs: 50 });
  const t0 = Date.now();
  await cluster.nodes[0]!.stop("SIGKILL");

  await waitFor(
    "the queue drained through the other nodes",
    async () => {
      const st = await getSinkStatus(redis, prefix, sink);
      return st.waiting + st.active + st.delayed + st.failed === 0 && (await stored()) >= EVENTS;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  const drainedMs = Date.now() - t0;
  // JetStream API requests on a cluster that just lost a node can time out on a busy machine.
  const messages = await waitFor("the stream read back", () => readStream(survivor, stream), { timeoutMs: 60_000, intervalMs: 1_000 });
  const got = messages.map((m) => m.event.id);
  console.log(`nats cluster: events ${EVENTS}, stream messages ${got.length}, unique ${new Set(got).size}, drained ${drainedMs} ms after the kill`);
  assert.equal(got.length, EVENTS, "each event stored once");
  assert.deepEqual(new Set(got), new Set(ids));
  assert.equal((await getSinkStatus(redis, prefix, sink)).deadLetters, 0);
  // Node 0 is gone for good: two thirds of the events went through another node.
  assert.ok(worker.running, `the worker kept running:\n${worker.tail(20)}`);
});

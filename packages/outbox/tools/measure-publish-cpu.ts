/**
 * Measures what one publish costs in CPU, in this process and in Redis, against a private
 * redis-server (so nobody else's commands are counted): 16 (or argv[3]) concurrent publishers of one
 * image.updated event each, two sinks, then the floor: a bare BullMQ `Queue.add` per job; last,
 * what one journal-relay batch (200 events, two sinks: one script call) costs Redis.
 *   node --conditions=development --import tsx packages/outbox/tools/measure-publish-cpu.ts [publishes] [concurrency]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventFactory } from "@berth/events";
import { DELIVERY_JOB_NAME, deliveryJobOptions, sinkQueueName } from "@berth/queue";
import { Registry, silentLogger } from "@berth/telemetry";
import { redisCpuMs, startRedisServer, uniqueName } from "@berth/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createEnqueuer } from "../src/enqueue.js";
import { createJobRouter } from "../src/job-router.js";
import { openOutbox } from "../src/open-outbox.js";
import { testConfig, testSink } from "../src/test-support/outbox-fixtures.js";

const PUBLISHES = Number(process.argv[2] ?? 3000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const WARMUP = 2_000;
const factory = createEventFactory();
const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 123 },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${"b".repeat(64)}`, size: 4567 }],
  annotations: { "org.opencontainers.image.description": "outbox-0-0" },
});
const event = (i: number) =>
  factory.build(
    "image.updated",
    { name: `bench/outbox-${i % 16}`, reference: `r${i}`, digest: `sha256:${"c".repeat(64)}`, mediaType: "application/vnd.oci.image.manifest.v1+json", manifest },
    { request: { addr: "127.0.0.1:5555", method: "PUT", useragent: "bench" } },
  );

async function redisStats(redis: Redis): Promise<{ cpuUs: number; calls: Map<string, { calls: number; usec: number }> }> {
  const calls = new Map<string, { calls: number; usec: number }>();
  for (const m of (await redis.info("commandstats")).matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    calls.set(m[1] ?? "", { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return { cpuUs: (await redisCpuMs(redis)) * 1000, calls };
}

async function measure(label: string, redis: Redis, publish: (i: number) => Promise<unknown>): Promise<void> {
  // A long warm-up: with 50 publishes the first variant measured still paid for the JIT (the
  // outbox read 267 µs/publish, then 109 µs when measured again after the others).
  for (let i = 0; i < WARMUP; i++) await publish(-1 - i);
  const before = await redisStats(redis);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < PUBLISHES) await publish(next++);
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const after = await redisStats(redis);
  const per = (x: number) => (x / PUBLISHES).toFixed(1);
  const cmds = [...after.calls]
    .map(([name, a]) => ({ name, calls: a.calls - (before.calls.get(name)?.calls ?? 0), usec: a.usec - (before.calls.get(name)?.usec ?? 0) }))
    .filter((c) => c.calls > 0 && c.name !== "info")
    .map((c) => `${c.name} ${(c.calls / PUBLISHES).toFixed(2)}x ${per(c.usec)}µs`)
    .join(", ");
  console.log(
    `${label.padEnd(28)} ${((PUBLISHES / wall) * 1000).toFixed(0).padStart(6)}/s  node ${per(cpu.user + cpu.system)} µs/publish  ` +
      `redis ${per(after.cpuUs - before.cpuUs)} µs/publish  [${cmds}]`,
  );
}

/** One relay batch (journal-relay.ts enqueues 200 events per call) as a single script call. */
async function measureRelayBatch(redis: Redis): Promise<void> {
  const enqueuer = createEnqueuer(redis, `${prefix}-relay`);
  const router = createJobRouter(sinks);
  const scriptUs: number[] = [];
  for (let round = 0; round < 5; round++) {
    const events = Array.from({ length: 200 }, (_, i) => event(round * 1000 + i));
    const batches = router.route(events);
    const before = await redisStats(redis);
    await enqueuer.enqueue({ events, batches }, 10_000);
    const after = await redisStats(redis);
    const us = (name: string) => (after.calls.get(name)?.usec ?? 0) - (before.calls.get(name)?.usec ?? 0);
    scriptUs.push(us("evalsha") + us("eval"));
  }
  await enqueuer.close();
  console.log(`relay batch (200 events, 2 sinks, one call): Redis script time ${scriptUs.map((u) => (u / 1000).toFixed(1)).join(", ")} ms`);
}

const server = await startRedisServer();
const root = await mkdtemp(join(tmpdir(), "berth-cpu-"));
const prefix = uniqueName("cpu");
const sinks = [testSink({ name: "bench-http" }), testSink({ name: "bench-nats", type: "nats", channel: "x" })];
const stats = new Redis(server.url);
const outbox = await openOutbox({
  config: testConfig({ root, redisUrl: server.url, prefix, sinks }),
  logger: silentLogger(),
  metrics: new Registry(),
  enqueueTimeoutMs: 5_000,
});
const bare = new Redis(server.url, { maxRetriesPerRequest: null });
const queues = sinks.map((s) => new Queue(sinkQueueName(s), { connection: bare, prefix: `${prefix}-bare` }));
try {
  await measure("outbox.publish (2 sinks)", stats, (i) => outbox.publish([event(i)]));
  await measure("bare Queue.add x2", stats, (i) => {
    const e = event(i);
    return Promise.all(sinks.map((s, k) => queues[k]?.add(DELIVERY_JOB_NAME, { event: e, sink: s.name }, deliveryJobOptions(s, e.id))));
  });
  await measure("bare Queue.add x1", stats, async (i) => {
    const e = event(i);
    const s = sinks[0];
    if (s) await queues[0]?.add(DELIVERY_JOB_NAME, { event: e, sink: s.name }, deliveryJobOptions(s, e.id));
  });
  if (outbox.status().journalDepth > 0) console.log(`journaled: ${outbox.status().journalDepth}`);
  await measureRelayBatch(stats);
} finally {
  await outbox.close();
  await Promise.all(queues.map((q) => q.close()));
  bare.disconnect();
  stats.disconnect();
  await server.destroy();
  await rm(root, { recursive: true, force: true });
}

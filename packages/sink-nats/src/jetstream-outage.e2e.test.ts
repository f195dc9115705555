import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startDeliveryRuntime } from "@berth/delivery";
import { configWithSink, deleteKeysByPrefix, enqueue } from "@berth/delivery-contract";
import { adminConnection, getSinkStatus } from "@berth/queue";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, startNatsServer, uniqueName, waitFor } from "@berth/testing";
import { type JetStreamManager, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createNatsSink } from "./create-nats-sink.js";
import { sampleEvent } from "./test-support/events.js";
import { natsSinkConfig } from "./test-support/sink-config.js";

const TOTAL = 1_000;
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The stream's stored message ids (Nats-Msg-Id), duplicates kept, read by sequence. */
async function storedIds(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const last = (await jsm.streams.info(stream)).state.last_seq;
  const ids: string[] = [];
  for (let seq = 1; seq <= last; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) ids.push(m.header.get("Nats-Msg-Id"));
  }
  return ids;
}

test("JetStream through the delivery runtime: nats-server stopped and restarted mid-load, every event stored exactly once", async () => {
  const server = await startNatsServer({ jetstream: true });
  cleanups.push(() => server.destroy());
  const subject = uniqueName("berth.outage");
  const stream = uniqueName("BERTH_OUTAGE").replace(/[^A-Za-z0-9_-]/g, "_");
  const setup = await connect({ servers: server.url });
  await (await jetstreamManager(setup)).streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
  await setup.close();

  const prefix = uniqueName("nats-outage");
  const conn = adminConnection(SHARED_REDIS_URL);
  cleanups.push(async () => {
    await deleteKeysByPrefix(conn, prefix);
    await conn.quit();
  });
  const sink = natsSinkConfig({
    name: "outage",
    address: server.url,
    channel: subject,
    jetstream: true,
    timeoutMs: 2_000,
    concurrency: 16,
    retry: { attempts: 100, delayMs: 100, maxDelayMs: 1_000 },
    breaker: { threshold: 50, cooldownMs: 1_000 },
  });
  const runtime = await startDeliveryRuntime({
    config: configWithSink(sink, SHARED_REDIS_URL, prefix),
    sinkType: "nats",
    createSink: (s) => createNatsSink(s),
    logger: silentLogger(),
    metrics: createMetricsRegistry("nats-outage-test"),
  });
  cleanups.push(() => runtime.close(2_000));

  const events = Array.from({ length: TOTAL }, (_, i) => sampleEvent("image.updated", `outage/repo-${i}`));
  await enqueue(conn, prefix, sink, events);

  const reader = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  cleanups.push(() => reader.close());
  const jsm = await jetstreamManager(reader);
  const storedAtStop = await waitFor(
    "the first events stored",
    async () => {
      const n = (await jsm.streams.info(stream)).state.messages;
      return n >= 50 ? n : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 5 },
  );
  await server.stop("SIGTERM");
  // The outage itself: a few seconds without a server while the runtime keeps trying.
  await new Promise((r) => setTimeout(r, 3_000));
  await server.start();

  await waitFor(
    "every job completed",
    async () => {
      const s = await getSinkStatus(conn, prefix, sink);
      return s.waiting + s.active + s.delayed === 0 ? s : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  const status = await getSinkStatus(conn, prefix, sink);
  assert.equal(status.deadLetters, 0);
  assert.equal(status.failed, 0);

  const ids = await storedIds(jsm, stream);
  console.log(`outage case: ${storedAtStop} of ${TOTAL} stored when nats-server stopped; ${ids.length} stored at the end`);
  assert.ok(storedAtStop < TOTAL, "the server went down in the middle of the load");
  const unique = new Set(ids);
  assert.equal(ids.length, unique.size, "no event id stored twice (Nats-Msg-Id de-duplication)");
  assert.equal(unique.size, TOTAL);
  for (const e of events) assert.ok(unique.has(e.id), `event ${e.id} stored`);
});

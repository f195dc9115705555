/**
 * `berth events replay` and large manifests (issues 16, 17): the event log keeps no manifest
 * over its cap, so a replay to a sink that takes manifests must put it back from storage; a thin
 * sink gets its thin form, and a manifest storage no longer has goes out marked and counted.
 * Real storage on a temp root, a real outbox writing the log, real Redis.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { createEventFactory } from "@berth/events";
import { parseDigest, parseManifest } from "@berth/oci";
import { openOutbox } from "@berth/outbox";
import { type DeliveryJobData, orderPendingKey, readEventLog, sinkQueueName } from "@berth/queue";
import { type Storage, openStorage } from "@berth/storage";
import { Registry, silentLogger } from "@berth/telemetry";
import { type OwnServer, SHARED_REDIS_URL, startRedisServer, uniqueName, waitFor } from "@berth/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { replayLoggedEvents } from "./index.js";
import { berthConfig, deleteKeysByPrefix, httpSinkConfig } from "./test-support/index.js";

const LOG_CAP = 256 * 1024;
const sha = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** A manifest of `bytes` (padded annotation) over a pushed config and layer. */
async function pushImage(storage: Storage, repository: string, tag: string, bytes: number): Promise<Buffer> {
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = Buffer.from(`layer of ${tag}`);
  await storage.repositories.ensure(repository);
  for (const blob of [config, layer]) await storage.blobs.write(repository, parseDigest(sha(blob)), Readable.from([blob]));
  const doc = (pad: string) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: sha(layer), size: layer.length }],
      annotations: { pad },
    });
  const body = Buffer.from(doc("x".repeat(Math.max(0, bytes - doc("").length))));
  await storage.manifests.put(repository, { reference: tag, body, digest: parseDigest(sha(body)), parsed: parseManifest(body) });
  return body;
}

describe("events replay with manifests the log left out (real storage, real Redis)", () => {
  const prefix = uniqueName("event-replay");
  const factory = createEventFactory();
  const live = httpSinkConfig("live", { payload: "thin" });
  let root: string;
  let storage: Storage;
  let connection: Redis;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-event-replay-"));
    storage = await openStorage(root);
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  });
  after(async () => {
    await deleteKeysByPrefix(connection, prefix);
    await connection.quit();
    await rm(root, { recursive: true, force: true });
  });

  test("a full sink gets the manifest back from storage, a thin sink its thin form, a missing one is counted", async () => {
    const big = await pushImage(storage, "big/app", "v1", 300 * 1024);
    const small = await pushImage(storage, "big/app", "v2", 2048);
    const event = (reference: string, body: Buffer) =>
      factory.build("image.updated", { name: "big/app", reference, digest: sha(body), mediaType: "application/vnd.oci.image.manifest.v1+json", manifest: body.toString("utf8") });
    const gone = Buffer.from('{"schemaVersion":2,"gone":"' + "y".repeat(LOG_CAP) + '"}');
    const events = [event("v1", big), event("v2", small), event("v0", gone)];

    // The registry's outbox writes the log; its one live sink is thin, so the log keeps no manifest.
    const config = berthConfig([live], SHARED_REDIS_URL, prefix);
    const outbox = await openOutbox({ config: { ...config, storage: { ...config.storage, rootDirectory: root } }, logger: silentLogger(), metrics: new Registry() });
    try {
      await waitFor("the outbox's Redis connection", () => outbox.status().redisConnected);
      await outbox.publish(events);
    } finally {
      await outbox.close();
    }
    const logged = [];
    for await (const { event: e } of readEventLog(connection, prefix)) logged.push(e);
    assert.deepEqual(logged.map((e) => [e.data.reference, e.data.manifest, e.manifestomitted]), [["v1", undefined, "thin"], ["v2", undefined, "thin"], ["v0", undefined, "thin"]]);

    const replayTo = async (sink: ReturnType<typeof httpSinkConfig>) => {
      const result = await replayLoggedEvents({ connection, prefix, sink, query: { sinceMs: 0 }, manifests: storage.manifests });
      const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection, prefix });
      try {
        const jobs = await queue.getJobs(["waiting"]);
        const byRef = Object.fromEntries(jobs.map((j) => [j.data.event.data.reference, [j.data.event.data.manifest?.length, j.data.event.manifestomitted, j.data.event.sequence !== undefined]]));
        return { result, byRef };
      } finally {
        await queue.close();
      }
    };

    const full = await replayTo(httpSinkConfig("full"));
    assert.deepEqual(full.byRef, { v1: [big.length, undefined, true], v2: [small.length, undefined, true], v0: [undefined, "thin", true] });
    assert.equal(full.result.manifestsMissing, 1);

    const thin = await replayTo(httpSinkConfig("thin", { payload: "thin" }));
    assert.deepEqual(thin.byRef, { v1: [undefined, "thin", true], v2: [undefined, "thin", true], v0: [undefined, "thin", true] });
    assert.equal(thin.result.manifestsMissing, 0);

    // A sink with its own cap gets back what fits under it only.
    const capped = await replayTo(httpSinkConfig("capped", { maxManifestBytes: 64 * 1024 }));
    assert.deepEqual(capped.byRef, { v1: [undefined, "size", true], v2: [small.length, undefined, true], v0: [undefined, "thin", true] });
  });
});

describe("events replay to an ordered sink (a redis-server of its own)", () => {
  const prefix = uniqueName("event-replay-ordered");
  const factory = createEventFactory();
  // Its own server: MONITOR on the shared one streams every other test's commands, and ioredis
  // can take such a line for a reply while MONITOR starts ("Command queue state error").
  let server: OwnServer;
  let connection: Redis;
  let monitor: Redis | undefined;

  before(async () => {
    server = await startRedisServer();
    connection = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    monitor?.disconnect();
    await connection.quit();
    await server.destroy();
  });

  // The gate drops a pending member whose job does not exist; a member joined before its job was
  // added could be dropped by a release in between, and its replay would then skip the order
  // (issue 17's catch-up defect). Redis's own command stream shows the order of the two writes.
  test("each replayed job exists before it joins its repository's pending set, and one head per repository is waiting", async () => {
    const sink = httpSinkConfig("ordered", { ordering: "repository" });
    const config = berthConfig([sink], server.url, prefix);
    const outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry() });
    const events = ["a", "b"].flatMap((repo) => [1, 2, 3].map((t) => factory.build("image.updated", { name: `ord/${repo}`, reference: `t${t}`, digest: "sha256:0f" })));
    try {
      await waitFor("the outbox's Redis connection", () => outbox.status().redisConnected);
      await outbox.publish(events);
    } finally {
      await outbox.close();
    }
    // The first delivery happened: the sink's queue is empty again, as after a consumer lost its state.
    const queueName = sinkQueueName(sink);
    const queue = new Queue<DeliveryJobData>(queueName, { connection, prefix });
    try {
      await queue.obliterate({ force: true });
      for (const repo of ["a", "b"]) await connection.del(orderPendingKey(prefix, queueName, `ord/${repo}`));

      monitor = await connection.monitor();
      const writes: string[][] = [];
      monitor.on("monitor", (_time: string, args: string[]) => {
        writes.push(args);
      });
      // MONITOR is live once a command of ours shows up in it.
      const marker = `${prefix}:monitor-marker`;
      await waitFor("the monitor", async () => {
        await connection.set(marker, "1");
        return writes.some((w) => w[1] === marker);
      });

      const result = await replayLoggedEvents({ connection, prefix, sink, query: { sinceMs: 0 } });
      assert.equal(result.replayed, events.length);
      const jobKey = (id: string) => `${prefix}:${queueName}:${id}`;
      const pendingKeys = new Set(["a", "b"].map((repo) => orderPendingKey(prefix, queueName, `ord/${repo}`)));
      const joins = () => writes.filter((w) => w[0]?.toLowerCase() === "zadd" && pendingKeys.has(w[1]!));
      await waitFor("every pending-set write in the monitor", () => joins().length === events.length);
      for (const w of joins()) {
        const member = w[3]!;
        const joined = writes.indexOf(w);
        const created = writes.findIndex((x) => x[1] === jobKey(member));
        assert.ok(created >= 0 && created < joined, `job ${member} joined its pending set before it existed`);
      }
      const waiting = await queue.getJobs(["waiting"]);
      assert.deepEqual(waiting.map((j) => `${j.data.event.data.name}#${Number(j.data.event.sequence)}`).sort(), ["ord/a#1", "ord/b#1"]);
      assert.equal(await queue.getDelayedCount(), 4);
    } finally {
      await queue.close();
    }
  });
});

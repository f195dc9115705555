/**
 * Per-sink payload against real Redis (issue 16, finding 3): a `thin` sink's jobs hold no
 * manifest, a sink with maxManifestBytes leaves out larger ones, both say so in the
 * `manifestomitted` attribute, and the bytes Redis holds per job are measured (MEMORY USAGE).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createEventFactory } from "@berth/events";
import { deliveryJobId, readEventLog, sinkQueueName } from "@berth/queue";
import { Registry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, freePort, uniqueName, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { journalSegments } from "./test-support/journal-files.js";
import { openOutbox } from "./open-outbox.js";
import type { Outbox } from "./outbox.js";
import { startTestOutbox, testConfig, testSink } from "./test-support/outbox-fixtures.js";
import { waitingJobs } from "./test-support/queue-contents.js";

const LARGE = 1024 * 1024;
const CAP = 64 * 1024;

function manifestOf(bytes: number): string {
  const head = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","annotations":{"pad":"';
  return `${head}${"x".repeat(bytes - head.length - 3)}"}}`;
}

const sinks = [
  testSink({ name: "full-a" }),
  testSink({ name: "full-b" }),
  testSink({ name: "thin", payload: "thin" }),
  testSink({ name: "capped", maxManifestBytes: CAP }),
];

describe("payload per sink (real Redis)", () => {
  const prefix = uniqueName("payload");
  const factory = createEventFactory();
  let redis: Redis;
  let outbox: Outbox;
  let stop: () => Promise<void>;

  before(async () => {
    ({ outbox, redis, stop } = await startTestOutbox(prefix, sinks));
  });
  after(() => stop());

  const updated = (reference: string, manifest: string) =>
    factory.build("image.updated", { name: "big/app", reference, digest: "sha256:ab", mediaType: "application/vnd.oci.image.manifest.v1+json", manifest });

  it("full sinks get the manifest, thin never, capped only up to maxManifestBytes; manifestomitted says which", async () => {
    const large = updated("large", manifestOf(LARGE));
    const small = updated("small", manifestOf(1024));
    const deleted = factory.build("image.deleted", { name: "big/app", reference: "old", digest: "sha256:cd" });
    await outbox.publish([large, small, deleted]);

    const got = async (sink: string) => {
      const jobs = await waitingJobs(redis, prefix, sinkQueueName({ type: "http", name: sink }));
      return Object.fromEntries(
        jobs.map((j) => [j.data.event.data.reference, { manifest: j.data.event.data.manifest?.length, omitted: j.data.event.manifestomitted }]),
      );
    };
    for (const sink of ["full-a", "full-b"]) {
      assert.deepEqual(await got(sink), {
        large: { manifest: LARGE, omitted: undefined },
        small: { manifest: 1024, omitted: undefined },
        old: { manifest: undefined, omitted: undefined },
      }, sink);
    }
    assert.deepEqual(await got("thin"), {
      large: { manifest: undefined, omitted: "thin" },
      small: { manifest: undefined, omitted: "thin" },
      old: { manifest: undefined, omitted: undefined },
    });
    assert.deepEqual(await got("capped"), {
      large: { manifest: undefined, omitted: "size" },
      small: { manifest: 1024, omitted: undefined },
      old: { manifest: undefined, omitted: undefined },
    });

    // What one 1 MiB-manifest event costs Redis per sink's job (MEMORY USAGE of the job hash).
    const bytes: Record<string, number> = {};
    for (const sink of sinks) {
      const key = `${prefix}:${sinkQueueName(sink)}:${deliveryJobId(large.id, sink.name)}`;
      bytes[sink.name] = Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
    }
    console.log(`Redis bytes per job of one event with a 1 MiB manifest: ${JSON.stringify(bytes)}`);
    for (const sink of ["full-a", "full-b"]) assert.ok(bytes[sink]! > LARGE, `${sink}: ${bytes[sink]}`);
    for (const sink of ["thin", "capped"]) assert.ok(bytes[sink]! < 4096, `${sink}: ${bytes[sink]}`);

    // The event log keeps a manifest only up to its own cap (256 KiB in the fixture): the 1 MiB
    // one would otherwise be one more copy in Redis whatever the sinks take.
    const logged = new Map<string, { manifest?: number; omitted?: string; sequence?: string }>();
    for await (const { event } of readEventLog(redis, prefix)) {
      logged.set(event.data.reference!, { manifest: event.data.manifest?.length, omitted: event.manifestomitted, sequence: event.sequence });
    }
    const { sequence, ...largeLogged } = logged.get("large") ?? {};
    assert.deepEqual(largeLogged, { manifest: undefined, omitted: "size" });
    assert.ok(sequence, "the log's thin form still has its sequence");
    assert.equal(logged.get("small")?.manifest, 1024);
    assert.equal(logged.get("small")?.omitted, undefined);
  });

  it("the event log keeps no manifest that every sink of the event left out", async () => {
    const thinPrefix = uniqueName("payload-log");
    const thinOnly = await startTestOutbox(thinPrefix, [testSink({ name: "thin-a", payload: "thin" }), testSink({ name: "thin-b", payload: "thin" })]);
    try {
      const small = updated("small", manifestOf(1024));
      await thinOnly.outbox.publish([small]);
      const logged = [];
      for await (const { event } of readEventLog(thinOnly.redis, thinPrefix)) logged.push(event);
      assert.deepEqual(
        logged.map((e) => [e.id, e.manifestomitted, e.data.manifest, typeof e.sequence]),
        [[small.id, "thin", undefined, "string"]],
      );
    } finally {
      await thinOnly.stop();
    }
  });
});

describe("payload in the journal (Redis away)", () => {
  const factory = createEventFactory();

  async function journalBytes(root: string): Promise<number> {
    let total = 0;
    for (const path of await journalSegments(root)) total += (await stat(path)).size;
    return total;
  }

  /** Publishes one 1 MiB-manifest event with Redis unreachable; the journal's bytes. */
  async function journaled(root: string, prefix: string, journalSinks: ReturnType<typeof testSink>[]) {
    const outbox = await openOutbox({
      config: testConfig({ root, redisUrl: `redis://127.0.0.1:${await freePort()}`, prefix, sinks: journalSinks }),
      logger: silentLogger(),
      metrics: new Registry(),
    });
    const event = factory.build("image.updated", { name: "big/app", reference: "v1", digest: "sha256:ab", manifest: manifestOf(LARGE) });
    try {
      await outbox.publish([event]);
      assert.equal(outbox.status().journalDepth, 1);
    } finally {
      await outbox.close();
    }
    return { event, bytes: await journalBytes(root) };
  }

  it("keeps the manifest out of the journal when no sink takes it, and the relayed jobs say why", async () => {
    const prefix = uniqueName("payload-journal");
    const root = await mkdtemp(join(tmpdir(), "berth-payload-journal-"));
    const thinSinks = [testSink({ name: "thin-a", payload: "thin" }), testSink({ name: "thin-b", payload: "thin" })];
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      const { event, bytes } = await journaled(root, prefix, thinSinks);
      console.log(`journal bytes for one 1 MiB-manifest event, 2 thin sinks: ${bytes}`);
      assert.ok(bytes < 4096, `journal holds ${bytes} bytes`);
      // Redis back: a new outbox on the same root relays the journal at start-up.
      const outbox = await openOutbox({
        config: testConfig({ root, redisUrl: SHARED_REDIS_URL, prefix, sinks: thinSinks }),
        logger: silentLogger(),
        metrics: new Registry(),
      });
      try {
        await waitFor("the journal relayed", () => outbox.status().redisConnected && outbox.status().journalDepth === 0, { timeoutMs: 10_000 });
        for (const sink of thinSinks) {
          const jobs = await waitingJobs(redis, prefix, sinkQueueName(sink));
          assert.deepEqual(
            jobs.map((j) => [j.data.event.id, j.data.event.manifestomitted, j.data.event.data.manifest]),
            [[event.id, "thin", undefined]],
          );
        }
      } finally {
        await outbox.close();
      }
    } finally {
      await deleteKeysByPrefix(redis, prefix);
      redis.disconnect();
      await rm(root, { recursive: true, force: true });
    }
  });

  it("keeps the whole event when one sink takes the manifest", async () => {
    const root = await mkdtemp(join(tmpdir(), "berth-payload-journal-"));
    try {
      const { bytes } = await journaled(root, uniqueName("payload-journal"), [testSink({ name: "thin", payload: "thin" }), testSink({ name: "full" })]);
      assert.ok(bytes > LARGE, `journal holds ${bytes} bytes`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

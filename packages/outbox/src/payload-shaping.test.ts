/**
 * Per-sink payload against real Redis (issue 16, finding 3): a `thin` sink's jobs hold no
 * manifest, a sink with maxManifestBytes leaves out larger ones, both say so in the
 * `manifestomitted` attribute, and the bytes Redis holds per job are measured (MEMORY USAGE).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createEventFactory } from "@berth/events";
import { deliveryJobId, sinkQueueName } from "@berth/queue";
import { Registry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, uniqueName, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { openOutbox } from "./open-outbox.js";
import type { Outbox } from "./outbox.js";
import { testConfig, testSink } from "./test-support/outbox-fixtures.js";
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
  let root: string;
  let redis: Redis;
  let outbox: Outbox;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-payload-"));
    redis = new Redis(SHARED_REDIS_URL);
    outbox = await openOutbox({
      config: testConfig({ root, redisUrl: SHARED_REDIS_URL, prefix, sinks }),
      logger: silentLogger(),
      metrics: new Registry(),
    });
    await waitFor("the producer connection", () => outbox.status().redisConnected);
  });

  after(async () => {
    await outbox.close();
    await deleteKeysByPrefix(redis, prefix);
    redis.disconnect();
    await rm(root, { recursive: true, force: true });
  });

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
  });
});

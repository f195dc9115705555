import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatSequence } from "@berth/events";
import { sinkQueueName } from "@berth/queue";
import { Registry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, freePort, uniqueName, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { openOutbox } from "./open-outbox.js";
import type { Outbox } from "./outbox.js";
import { testConfig, testEvent, testSink } from "./test-support/outbox-fixtures.js";
import { waitingJobs } from "./test-support/queue-contents.js";
import { dumpValues } from "./test-support/redis-keys.js";

const SECRETS = ["hunter2-password", "tok-9f8e7d6c5b4a", "whsec_c2lnbmluZy1zZWNyZXQ"];

const sinks = [
  testSink({
    name: "audit",
    credentials: { username: "webhook-user", password: SECRETS[0], token: SECRETS[1] },
    signingSecret: SECRETS[2],
    headers: { authorization: `Bearer ${SECRETS[1]}` },
  }),
  testSink({ name: "deletes", events: ["image.deleted"] }),
  testSink({ name: "prod", repositories: ["prod/*"] }),
  testSink({ name: "team", type: "nats", channel: "registry", repositories: ["team/**"] }),
];

describe("openOutbox against Redis", () => {
  const prefix = uniqueName("outbox");
  let root: string;
  let redis: Redis;
  let outbox: Outbox;
  let metrics: Registry;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-outbox-"));
    redis = new Redis(SHARED_REDIS_URL);
    metrics = new Registry();
    outbox = await openOutbox({
      config: testConfig({ root, redisUrl: SHARED_REDIS_URL, prefix, sinks }),
      logger: silentLogger(),
      metrics,
    });
    await waitFor("the producer connection", () => outbox.status().redisConnected);
  });

  after(async () => {
    await outbox.close();
    await deleteKeysByPrefix(redis, prefix);
    redis.disconnect();
    await rm(root, { recursive: true, force: true });
  });

  const ids = async (sinkName: string) => {
    const sink = sinks.find((s) => s.name === sinkName);
    assert.ok(sink);
    return (await waitingJobs(redis, prefix, sinkQueueName(sink))).map((j) => j.data.event.data.name);
  };

  it("adds one job per matching sink, each in its own queue, with only event and sink name", async () => {
    const updated = testEvent("image.updated", "prod/app");
    const deleted = testEvent("image.deleted", "dev/tool");
    const deep = testEvent("repository.created", "team/a/b");
    await outbox.publish([updated, deleted, deep]);

    assert.deepEqual(await ids("audit"), ["prod/app", "dev/tool", "team/a/b"]);
    assert.deepEqual(await ids("deletes"), ["dev/tool"]);
    assert.deepEqual(await ids("prod"), ["prod/app"]);
    assert.deepEqual(await ids("team"), ["team/a/b"]);

    const [job] = await waitingJobs(redis, prefix, sinkQueueName(testSink({ name: "deletes" })));
    assert.ok(job);
    assert.deepEqual(Object.keys(job.data).sort(), ["event", "sink"]);
    assert.equal(job.data.sink, "deletes");
    // The event as published, plus the first sequence number of its repository.
    assert.deepEqual(job.data.event, { ...deleted, sequence: formatSequence(1) });
    assert.equal(job.id, `${deleted.id}.deletes`);
    assert.equal(outbox.status().journalDepth, 0);
    assert.equal(outbox.status().redisConnected, true);
  });

  it("is idempotent: publishing the same event twice leaves one job per sink", async () => {
    const event = testEvent("image.deleted", "prod/dup");
    await outbox.publish([event]);
    await outbox.publish([event]);
    const deletes = await ids("deletes");
    assert.equal(deletes.filter((name) => name === "prod/dup").length, 1);
    const prod = await ids("prod");
    assert.equal(prod.filter((name) => name === "prod/dup").length, 1);
  });

  it("a repositories filter of prod/* skips nested and other repositories", async () => {
    await outbox.publish([testEvent("image.updated", "prod/team/nested"), testEvent("image.updated", "staging/app")]);
    const prod = await ids("prod");
    assert.equal(prod.includes("prod/team/nested"), false);
    assert.equal(prod.includes("staging/app"), false);
    assert.equal((await ids("audit")).includes("staging/app"), true);
  });

  it("never writes a sink credential into Redis", async () => {
    const everything = await dumpValues(redis, prefix);
    assert.ok(everything.includes("prod/app"), "the dump should contain the job data");
    for (const secret of SECRETS) assert.equal(everything.includes(secret), false, `found ${secret}`);
  });

  it("counts events by type and jobs by sink in the metrics", async () => {
    const text = await metrics.metrics();
    assert.match(text, /berth_outbox_events_total\{type="zotregistry.image.updated"\} [1-9]/);
    // Three adds (one of them an idempotent re-add of the same job id).
    assert.match(text, /berth_outbox_enqueued_total\{sink="deletes"\} 3/);
    assert.match(text, /berth_outbox_redis_connected 1/);
    assert.match(text, /berth_outbox_journal_depth 0/);
  });
});

describe("disabled outbox", () => {
  for (const [label, enable, withSinks] of [
    ["events disabled", false, true],
    ["no sinks", true, false],
  ] as const) {
    it(`${label}: publish resolves and nothing connects to Redis`, async () => {
      const port = await freePort();
      let connections = 0;
      const server = createServer((socket) => {
        connections += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      try {
        const outbox = await openOutbox({
          config: testConfig({
            root: join(tmpdir(), uniqueName("never-created")),
            redisUrl: `redis://127.0.0.1:${port}`,
            prefix: uniqueName("off"),
            sinks: withSinks ? [testSink({ name: "audit" })] : [],
            enable,
          }),
          logger: silentLogger(),
          metrics: new Registry(),
        });
        await outbox.publish([testEvent("image.updated", "a/b")]);
        assert.deepEqual(outbox.status(), { enabled: false, redisConnected: false, journalDepth: 0 });
        await outbox.close();
        await outbox.close();
        // A connection attempt would have been accepted by now: the server is local and idle.
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(connections, 0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});

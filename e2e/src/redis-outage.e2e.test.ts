/**
 * The outbox's promise on the real registry process: Redis is down for 100 image pushes (blobs
 * and manifest; ten of them create a repository). Every push is answered 201, /healthz and
 * /metrics show the events journaled; once Redis is back, each event is in each sink's queue
 * exactly once and the journal is empty. Then the same with the registry SIGKILLed while its
 * events are still journaled: the next run finds and enqueues them. No worker runs, so the queues
 * hold exactly what was written.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type DeliveryJobData, sinkQueueName } from "@berth/queue";
import { type OwnServer, startRedisServer, uniqueName, waitFor } from "@berth/testing";
import { makeTestImage, manifestFor } from "@berth/testing/oci-layout-fixture";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";
import { Queue } from "bullmq";
import { BerthStack, REGISTRY_USER, sumSamples } from "./berth-stack.js";

const REPOS = 10;
const TAGS_PER_REPO = 10;
const PUSHERS = 4;

interface OutboxHealth {
  ok: boolean;
  outbox: { enabled: boolean; redisConnected: boolean; journalDepth: number };
}

describe("Redis down during 100 pushes to the registry process", () => {
  let redis: OwnServer;
  let stack: BerthStack;
  const prefix = uniqueName("outage");
  const sinks = [
    { name: "outage-http", type: "http" as const, address: "http://127.0.0.1:9/events" },
    { name: "outage-nats", type: "nats" as const, address: "nats://127.0.0.1:4222", channel: `berth.${prefix}` },
  ];

  before(async () => {
    redis = await startRedisServer();
    stack = await BerthStack.start({ label: "outage", redisUrl: redis.url, queuePrefix: prefix, sinks, httpWorkers: 0, natsWorkers: 0, dashboard: false });
  });
  after(async () => {
    await stack?.destroy();
    await redis?.destroy();
  });

  async function health(): Promise<OutboxHealth> {
    const res = await fetch(`${stack.registryUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
    return (await res.json()) as OutboxHealth;
  }

  /** `repos` × `tags` pushes; each repository's first push creates it. */
  function imagePushes(group: string, repos: number, tags: number): { repo: string; tag: string }[] {
    return Array.from({ length: repos * tags }, (_, i) => ({ repo: `${group}/r${i % repos}`, tag: `t${i}` }));
  }

  /** Whole image pushes (config, layer, manifest), PUSHERS at a time; every answer must be 201. */
  async function pushAll(pushes: { repo: string; tag: string }[]): Promise<void> {
    const client = new RegistryHttpClient(stack.registryUrl, REGISTRY_USER);
    const base = makeTestImage({ layerBytes: 512 });
    const statuses: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: PUSHERS }, async () => {
        for (let i = next++; i < pushes.length; i = next++) {
          const { repo, tag } = pushes[i]!;
          for (const blob of [base.config, ...base.layers]) statuses.push(`blob ${await client.pushBlob(repo, blob)}`);
          const manifest = manifestFor(base.config, base.layers, { "berth.test/push": tag });
          statuses.push(`manifest ${(await client.putManifest(repo, tag, manifest)).status}`);
        }
      }),
    );
    assert.deepEqual(
      statuses.filter((s) => !s.endsWith(" 201")),
      [],
      "every blob and manifest push answered 201 while Redis was down",
    );
  }

  /** Each sink queue holds exactly one image.updated per push and one repository.created per repository of `group`. */
  async function assertQueuedOnce(group: string, pushes: { repo: string; tag: string }[], repos: number): Promise<void> {
    for (const sink of sinks) {
      const jobs = (await queued(sink)).filter((j) => j.event.data.name.startsWith(`${group}/`));
      const ids = jobs.map((j) => j.event.id);
      assert.equal(new Set(ids).size, ids.length, `${sink.name}: no event twice`);
      assert.ok(jobs.every((j) => j.sink === sink.name));
      const updated = jobs.filter((j) => j.event.type === "zotregistry.image.updated").map((j) => `${j.event.data.name}:${j.event.data.reference}`);
      assert.deepEqual(updated.sort(), pushes.map((p) => `${p.repo}:${p.tag}`).sort(), `${sink.name}: one image.updated per push`);
      const created = jobs.filter((j) => j.event.type === "zotregistry.repository.created").map((j) => j.event.data.name);
      assert.deepEqual(created.sort(), Array.from({ length: repos }, (_, r) => `${group}/r${r}`).sort(), `${sink.name}: one repository.created per repository`);
      assert.equal(ids.length, pushes.length + repos, `${sink.name}: nothing else`);
    }
  }

  async function queued(sink: (typeof sinks)[number]): Promise<DeliveryJobData[]> {
    const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection: { url: redis.url }, prefix });
    try {
      return (await queue.getJobs(["wait"], 0, -1, true)).map((job) => job.data);
    } finally {
      await queue.close();
    }
  }

  test("every push succeeds; once Redis is back each event reaches each sink queue exactly once", { timeout: 120_000 }, async () => {
    await waitFor("the registry's producer connection", async () => (await health()).outbox.redisConnected);
    await redis.stop();

    const pushes = imagePushes("outage", REPOS, TAGS_PER_REPO);
    await pushAll(pushes);

    const events = REPOS + pushes.length; // one repository.created per repository, one image.updated per push
    const during = await health();
    assert.equal(during.ok, true);
    assert.equal(during.outbox.redisConnected, false);
    assert.equal(during.outbox.journalDepth, events);
    const metrics = await (await fetch(`${stack.registryUrl}/metrics`)).text();
    assert.equal(sumSamples(metrics, "berth_outbox_journaled_total", {}), events);

    await redis.start();
    await waitFor("the relay to drain the journal", async () => (await health()).outbox.journalDepth === 0, { timeoutMs: 30_000 });

    await assertQueuedOnce("outage", pushes, REPOS);
  });

  test("the registry SIGKILLed with events still journaled: its next run enqueues them, each once", { timeout: 120_000 }, async () => {
    await waitFor("the registry's producer connection", async () => (await health()).outbox.redisConnected);
    await redis.stop();
    const pushes = imagePushes("crash", 3, 5);
    await pushAll(pushes);
    assert.equal((await health()).outbox.journalDepth, pushes.length + 3);

    await stack.registry.kill();
    await stack.registry.start();
    const restarted = await health();
    assert.equal(restarted.outbox.journalDepth, pushes.length + 3, "the new run found the journal");

    await redis.start();
    await waitFor("the relay to drain the journal", async () => (await health()).outbox.journalDepth === 0, { timeoutMs: 30_000 });
    await assertQueuedOnce("crash", pushes, 3);
  });
});

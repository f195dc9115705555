import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { SinkConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import { sinkQueueName } from "@berth/queue";
import { Registry, silentLogger } from "@berth/telemetry";
import { type OwnServer, startRedisServer, uniqueName, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { openOutbox } from "./open-outbox.js";
import { captureLogger } from "@berth/testing";
import { testConfig, testEvent, testSink } from "./test-support/outbox-fixtures.js";
import { journalSegments } from "./test-support/journal-files.js";
import { waitingJobs } from "./test-support/queue-contents.js";

const sinks: SinkConfig[] = [testSink({ name: "audit" }), testSink({ name: "bus", type: "nats", channel: "reg" })];

async function queuedIds(redis: Redis, prefix: string, sink: SinkConfig): Promise<string[]> {
  return (await waitingJobs(redis, prefix, sinkQueueName(sink))).map((job) => job.data.event.id);
}

async function allDelivered(redis: Redis, prefix: string, expected: string[]): Promise<boolean> {
  for (const sink of sinks) {
    if ((await queuedIds(redis, prefix, sink)).length < expected.length) return false;
  }
  return true;
}

describe("outbox with Redis down", () => {
  let server: OwnServer;
  let root: string;

  before(async () => {
    // AOF with fsync always: jobs enqueued before the kill must survive it.
    server = await startRedisServer({ appendonly: true });
  });
  after(async () => {
    await server.destroy();
  });

  it("Redis stopped during 100 publishes: all resolve, journaled, then each event queued once in order", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-outage-"));
    const prefix = uniqueName("outage");
    const metrics = new Registry();
    const outbox = await openOutbox({
      config: testConfig({ root, redisUrl: server.url, prefix, sinks }),
      logger: silentLogger(),
      metrics,
    });
    try {
      await waitFor("producer connection", () => outbox.status().redisConnected);
      const before = Array.from({ length: 10 }, (_, i) => testEvent("image.updated", `app/${i % 3}`, `b${i}`));
      for (const e of before) await outbox.publish([e]);
      assert.equal(outbox.status().journalDepth, 0);

      await server.stop();
      const during = Array.from({ length: 100 }, (_, i) => testEvent("image.updated", `app/${i % 3}`, `d${i}`));
      let rejected = 0;
      for (const e of during) await outbox.publish([e]).catch(() => (rejected += 1));
      assert.equal(rejected, 0);
      assert.equal(outbox.status().redisConnected, false);
      assert.equal(outbox.status().journalDepth, 100);
      assert.match(await metrics.metrics(), /berth_outbox_journal_depth 100\n/);
      assert.match(await metrics.metrics(), /berth_outbox_journaled_total 100\n/);

      await server.start();
      const after = Array.from({ length: 5 }, (_, i) => testEvent("image.updated", `app/${i % 3}`, `a${i}`));
      for (const e of after) await outbox.publish([e]);

      const expected = [...before, ...during, ...after].map((e) => e.id);
      const checker = new Redis(server.url, { maxRetriesPerRequest: null });
      try {
        await waitFor("the relay to drain", async () => outbox.status().journalDepth === 0 && allDelivered(checker, prefix, expected), { timeoutMs: 20_000 });
        for (const sink of sinks) {
          assert.deepEqual(await queuedIds(checker, prefix, sink), expected, `queue of ${sink.name}`);
          // Journaled events take their sequence when the relay enqueues them, in journal order:
          // each repository's events are numbered 1, 2, 3, … in publish order, in every queue.
          const seen = new Map<string, number>();
          for (const job of await waitingJobs(checker, prefix, sinkQueueName(sink))) {
            const { name } = job.data.event.data;
            const next = (seen.get(name) ?? 0) + 1;
            assert.equal(Number(job.data.event.sequence), next, `${sink.name} ${name}`);
            seen.set(name, next);
          }
        }
        assert.deepEqual(await journalSegments(root), []);
      } finally {
        await checker.flushall();
        checker.disconnect();
      }
    } finally {
      await outbox.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it("Redis slower than the bound: publish journals instead of waiting, counted once journaled; one job per sink in the end", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-slow-"));
    const prefix = uniqueName("slow");
    const metrics = new Registry();
    const outbox = await openOutbox({
      config: testConfig({ root, redisUrl: server.url, prefix, sinks }),
      logger: silentLogger(),
      metrics,
    });
    const emitted = async () => Number((await metrics.metrics()).match(/berth_outbox_events_total\{type="zotregistry.image.updated"\} (\d+)/)?.[1] ?? 0);
    const admin = new Redis(server.url, { maxRetriesPerRequest: null });
    try {
      await waitFor("producer connection", () => outbox.status().redisConnected);
      await outbox.publish([testEvent("image.updated", "warm/up")]);
      // Redis answers nobody for a while, yet stays connected: the enqueue bound must trip.
      await admin.call("CLIENT", "PAUSE", "1500", "ALL");
      const slow = testEvent("image.updated", "slow/app");
      const publishing = outbox.publish([slow]);
      // Redis answers nothing and the journal is written only after the bound: not durable yet.
      assert.equal(await emitted(), 1, "an event is counted as emitted only once it is durable");
      await publishing;
      assert.equal(await emitted(), 2);
      assert.equal(outbox.status().journalDepth, 1);
      assert.equal(outbox.status().redisConnected, true);
      // The abandoned add lands when the pause ends and the relay re-adds the same job id.
      await waitFor("the relay to drain", () => outbox.status().journalDepth === 0, { timeoutMs: 15_000 });
      await outbox.close();
      for (const sink of sinks) {
        const ids = await queuedIds(admin, prefix, sink);
        assert.equal(ids.filter((id) => id === slow.id).length, 1, `one job for ${sink.name}`);
      }
    } finally {
      await outbox.close();
      await admin.flushall();
      admin.disconnect();
      await rm(root, { recursive: true, force: true });
    }
  });

  it("SIGKILLed after journaling: a new outbox on the same root enqueues on start-up; a torn line is skipped", async () => {
    root = await mkdtemp(join(tmpdir(), "berth-crash-"));
    const prefix = uniqueName("crash");
    const config = testConfig({ root, redisUrl: server.url, prefix, sinks });
    const events: BerthEvent[] = Array.from({ length: 20 }, (_, i) => testEvent("image.deleted", `crash/${i}`));
    await server.stop();
    try {
      const script = fileURLToPath(new URL("./test-support/publish-and-hang.ts", import.meta.url));
      const child = spawn(
        process.execPath,
        ["--conditions=development", "--import", "tsx", script, JSON.stringify(config), JSON.stringify(events)],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      try {
        await waitFor("the child to journal", () => out.includes("journaled"), { timeoutMs: 30_000 });
      } finally {
        child.kill("SIGKILL");
        await exited;
      }
      assert.match(out, /journaled 20/);

      // A crash mid-write leaves a partial last line in the newest segment.
      const segments = await journalSegments(root);
      assert.ok(segments.length > 0);
      await appendFile(segments.at(-1) ?? "", '{"crc":1,"event":{"specversion":"1.0","id":"half');

      await server.start();
      const { logger, lines } = captureLogger();
      const outbox = await openOutbox({ config, logger, metrics: new Registry() });
      const checker = new Redis(server.url, { maxRetriesPerRequest: null });
      try {
        const expected = events.map((e) => e.id);
        await waitFor("start-up relay", async () => outbox.status().journalDepth === 0 && allDelivered(checker, prefix, expected), { timeoutMs: 20_000 });
        for (const sink of sinks) assert.deepEqual(await queuedIds(checker, prefix, sink), expected);
        assert.ok(lines.some((l) => l.level === 40 && l.msg.includes("torn")), "a warning about the torn line");
        assert.deepEqual(await journalSegments(root), []);
      } finally {
        await outbox.close();
        await checker.flushall();
        checker.disconnect();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

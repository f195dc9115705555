/**
 * Registry replicas sharing one storage root, each with its own outbox: no journaled event may be
 * lost because another replica's relay drained (and deleted) a segment still being appended to.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { SinkConfig } from "@berth/config";
import { sinkQueueName } from "@berth/queue";
import { Registry, silentLogger } from "@berth/telemetry";
import { type OwnServer, captureLogger, freePort, startRedisServer, uniqueName, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { Journal, journalDirectory } from "./journal.js";
import { openOutbox } from "./open-outbox.js";
import { testConfig, testEvent, testSink } from "./test-support/outbox-fixtures.js";
import { journalSegments } from "./test-support/journal-files.js";
import { waitingJobs } from "./test-support/queue-contents.js";

const sinks: SinkConfig[] = [testSink({ name: "audit" }), testSink({ name: "bus", type: "nats", channel: "reg" })];

/** A replica process (test-support/journal-replica.ts) and the event ids it acknowledged. */
interface ReplicaChild {
  child: ChildProcessWithoutNullStreams;
  acked: string[];
  out(): string;
  exited: Promise<unknown>;
}

function startReplica(configJson: string, label: string, leaseMs?: number): ReplicaChild {
  const script = fileURLToPath(new URL("./test-support/journal-replica.ts", import.meta.url));
  const args = [script, configJson, label, ...(leaseMs ? [String(leaseMs)] : [])];
  const child = spawn(process.execPath, ["--conditions=development", "--import", "tsx", ...args], { stdio: "pipe" });
  const acked: string[] = [];
  let text = "";
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("ack ")) acked.push(line.slice(4));
  });
  child.stderr.pipe(process.stderr);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, acked, out: () => text, exited };
}

describe("outbox journals of replicas on one root", () => {
  let server: OwnServer;
  let root: string;
  let checker: Redis;

  before(async () => {
    server = await startRedisServer();
    checker = new Redis(server.url, { maxRetriesPerRequest: null });
    checker.on("error", () => {});
    root = await mkdtemp(join(tmpdir(), "berth-journal-replicas-"));
  });
  after(async () => {
    checker.disconnect();
    await server.destroy();
    await rm(root, { recursive: true, force: true });
  });

  const queuedIds = async (prefix: string, sink = sinks[0]!) => (await waitingJobs(checker, prefix, sinkQueueName(sink))).map((job) => job.data.event.id);

  it("a replica's relay never drains a segment another live replica is still appending to", async () => {
    const prefix = uniqueName("race");
    // Replica B cannot reach Redis (a port nobody listens on), so it journals every event.
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const b = await openOutbox({ config: testConfig({ root, redisUrl: unreachable, prefix, sinks }), logger: silentLogger(), metrics: new Registry() });
    const first = testEvent("image.updated", "race/app", "one");
    await b.publish([first]);
    assert.equal(b.status().journalDepth, 1);

    // Replica A, on the same root, reaches Redis; whatever it relays, it relays now.
    const a = await openOutbox({ config: testConfig({ root, redisUrl: server.url, prefix, sinks }), logger: silentLogger(), metrics: new Registry() });
    await waitFor("replica A connected with an empty journal", () => a.status().redisConnected && a.status().journalDepth === 0, { timeoutMs: 15_000 });

    // B goes on journaling into what it holds; then stops, leaving its journal behind.
    const second = testEvent("image.updated", "race/app", "two");
    await b.publish([second]);
    await b.close();

    // B's journal is relayed by a live replica (A), both events, each once.
    try {
      await waitFor("both of B's events in Redis", async () => (await queuedIds(prefix)).length >= 2, { timeoutMs: 20_000 });
      assert.deepEqual((await queuedIds(prefix)).sort(), [first.id, second.id].sort());
      await waitFor("A's journal depth back to 0", () => a.status().journalDepth === 0);
    } finally {
      await a.close();
    }
  });

  it("two replica processes journal side by side with Redis down, one is SIGKILLed: every acknowledged event reaches Redis once", { timeout: 120_000 }, async () => {
    const prefix = uniqueName("kill");
    const replicaRoot = join(root, "kill");
    const configJson = JSON.stringify(testConfig({ root: replicaRoot, redisUrl: server.url, prefix, sinks }));
    await server.stop();
    const a = startReplica(configJson, "a");
    const b = startReplica(configJson, "b");
    try {
      await waitFor("both replicas journaling", () => a.acked.length >= 150 && b.acked.length >= 150, { timeoutMs: 60_000 });
      a.child.kill("SIGKILL");
      await a.exited;
      // A journal directory per replica: A's is left behind by the kill, with its lease.
      assert.equal((await readdir(journalDirectory(replicaRoot))).filter((n) => !n.startsWith(".")).length, 2);

      // Redis returns while B still journals (its journal is not empty, so new events queue behind it).
      await server.start();
      const atReturn = b.acked.length;
      await waitFor("B publishing after Redis returned", () => b.acked.length >= atReturn + 150, { timeoutMs: 60_000 });
      b.child.stdin.end();
      await waitFor("B to stop publishing", () => b.out().includes("done"), { timeoutMs: 30_000 });

      const acked = [...a.acked, ...b.acked];
      const expected = new Set(acked);
      assert.equal(expected.size, acked.length);
      for (const sink of sinks) {
        await waitFor(`every acknowledged event in ${sink.name}'s queue`, async () => {
          const queued = new Set(await queuedIds(prefix, sink));
          return acked.every((id) => queued.has(id));
        }, { timeoutMs: 60_000, intervalMs: 250 });
        const queued = await queuedIds(prefix, sink);
        // Exactly once: no job id twice (A's last event may be there too: journaled, never acknowledged).
        assert.equal(new Set(queued).size, queued.length, `${sink.name}: an event queued twice`);
        assert.ok(queued.length - expected.size <= 1, `${sink.name}: ${queued.length - expected.size} events nobody published`);
      }
      await waitFor("the journals drained and A's directory removed", async () => (await journalSegments(replicaRoot)).length === 0 && (await readdir(journalDirectory(replicaRoot))).filter((n) => !n.startsWith(".")).length === 1);
    } finally {
      for (const r of [a, b]) {
        r.child.kill("SIGKILL");
        await r.exited;
      }
      await checker.flushall();
    }
  });

  it("a journal in the layout before per-replica directories is relayed, in order, with sequences 1, 2, 3, …", async () => {
    const prefix = uniqueName("legacy");
    const legacyRoot = join(root, "legacy");
    const old = await Journal.open(journalDirectory(legacyRoot), { maxSegmentBytes: 1_500, logger: silentLogger() });
    const events = Array.from({ length: 12 }, (_, i) => testEvent("image.updated", "legacy/app", `v${i}`));
    for (const e of events) await old.append([e]);
    await old.close();
    assert.ok((await journalSegments(legacyRoot)).length > 2, "several segments in the old layout");

    const outbox = await openOutbox({ config: testConfig({ root: legacyRoot, redisUrl: server.url, prefix, sinks }), logger: silentLogger(), metrics: new Registry() });
    try {
      await waitFor("the old journal relayed", async () => outbox.status().journalDepth === 0 && (await queuedIds(prefix)).length === events.length, { timeoutMs: 20_000 });
      for (const sink of sinks) {
        const jobs = await waitingJobs(checker, prefix, sinkQueueName(sink));
        assert.deepEqual(jobs.map((j) => j.data.event.id), events.map((e) => e.id));
        assert.deepEqual(jobs.map((j) => Number(j.data.event.sequence)), events.map((_, i) => i + 1));
      }
      assert.deepEqual(await journalSegments(legacyRoot), []);
    } finally {
      await outbox.close();
      await checker.flushall();
    }
  });

  it("two live replicas find a dead replica's journal: exactly one adopts and relays it", async () => {
    const prefix = uniqueName("adopt");
    const adoptRoot = join(root, "adopt");
    // A replica on another machine died: its lease names a host that is not this one and is never renewed.
    const dead = join(journalDirectory(adoptRoot), "elsewhere-1-dead");
    const journal = await Journal.open(dead, { maxSegmentBytes: 1 << 20, logger: silentLogger() });
    const events = Array.from({ length: 20 }, (_, i) => testEvent("image.deleted", `adopt/${i % 3}`, `v${i}`));
    await journal.append(events);
    await journal.close();
    await mkdir(dead, { recursive: true });
    await writeFile(join(dead, "lease"), JSON.stringify({ owner: "elsewhere:1", id: "dead", at: new Date().toISOString() }));

    const logs = [captureLogger(), captureLogger()];
    const config = testConfig({ root: adoptRoot, redisUrl: server.url, prefix, sinks });
    // Short enough for a quick test, long enough that a busy machine's timer delays do not make a live replica look dead.
    const registries = [new Registry(), new Registry()];
    const replicas = await Promise.all(logs.map(({ logger }, i) => openOutbox({ config, logger, metrics: registries[i]!, journalLeaseMs: 2_000 })));
    try {
      await waitFor("the dead replica's journal relayed", async () => (await journalSegments(adoptRoot)).length === 0 && (await queuedIds(prefix)).length >= events.length, { timeoutMs: 20_000 });
      for (const sink of sinks) assert.deepEqual((await queuedIds(prefix, sink)).sort(), events.map((e) => e.id).sort());
      const adoptions = logs.flatMap(({ lines }) => lines.filter((l) => l.msg.includes("adopted the journal")));
      assert.equal(adoptions.length, 1, JSON.stringify(adoptions));
      assert.equal(adoptions[0]?.journal, "elsewhere-1-dead");
      const counted = await Promise.all(registries.map(async (r) => Number((await r.metrics()).match(/berth_outbox_journals_adopted_total (\d+)/)?.[1])));
      assert.deepEqual(counted.sort(), [0, 1]);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await checker.flushall();
    }
  });

  it("a replica stalled past its lease (SIGSTOP) finds its journal adopted and goes on in a new one; nothing it acknowledged is lost", { timeout: 120_000 }, async () => {
    const prefix = uniqueName("stall");
    const stallRoot = join(root, "stall");
    const leaseMs = 1_500;
    // A never reaches Redis: its events get there only through B's adoptions.
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const a = startReplica(JSON.stringify(testConfig({ root: stallRoot, redisUrl: unreachable, prefix, sinks })), "a", leaseMs);
    const { logger, lines } = captureLogger();
    let b: Awaited<ReturnType<typeof openOutbox>> | undefined;
    const adopted = () => lines.filter((l) => l.msg.includes("adopted the journal")).map((l) => String(l.journal));
    try {
      await waitFor("A journaling", () => a.acked.length >= 50, { timeoutMs: 60_000 });
      b = await openOutbox({ config: testConfig({ root: stallRoot, redisUrl: server.url, prefix, sinks }), logger, metrics: new Registry(), journalLeaseMs: leaseMs });
      const before = adopted().length;
      a.child.kill("SIGSTOP");
      await waitFor("B to adopt the stalled A's journal", () => adopted().length > before, { timeoutMs: 30_000 });
      const stalled = adopted().length;
      a.child.kill("SIGCONT");
      // A writes on; its next write finds the lease gone and moves to a new directory.
      const atResume = a.acked.length;
      await waitFor("A publishing after the stall", () => a.acked.length >= atResume + 50, { timeoutMs: 60_000 });
      a.child.stdin.end();
      await waitFor("A to stop publishing", () => a.out().includes("done"), { timeoutMs: 30_000 });
      a.child.kill("SIGKILL");
      await a.exited;
      // The directory A went on in after the stall is a new one, adopted now that A is gone.
      await waitFor("B to adopt A's later journal", () => adopted().length > stalled, { timeoutMs: 30_000 });
      assert.equal(new Set(adopted()).size, adopted().length);

      for (const sink of sinks) {
        await waitFor(`A's acknowledged events in ${sink.name}'s queue`, async () => {
          const queued = new Set(await queuedIds(prefix, sink));
          return a.acked.every((id) => queued.has(id));
        }, { timeoutMs: 30_000, intervalMs: 250 });
        const queued = await queuedIds(prefix, sink);
        assert.equal(new Set(queued).size, queued.length, `${sink.name}: an event queued twice`);
      }
      await waitFor("every journal drained", async () => (await journalSegments(stallRoot)).length === 0);
    } finally {
      a.child.kill("SIGKILL");
      await a.exited;
      await b?.close();
      await checker.flushall();
    }
  });
});

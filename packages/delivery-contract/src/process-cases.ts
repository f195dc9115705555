/**
 * The process-level contract: real worker processes sharing one queue. A SIGKILLed worker's jobs
 * are recovered by the others (at least once, never lost); SIGTERM finishes in-flight work and
 * exits 0.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { adminConnection, getSinkStatus } from "@berth/queue";
import { SHARED_REDIS_URL, uniqueName, waitFor } from "@berth/testing";
import type { Redis } from "ioredis";
import { deleteKeysByPrefix, enqueue, sampleEvent } from "./fixtures.js";
import type { SinkContractOptions, SinkHarness } from "./harness.js";
import { type WorkerProcess, spawnWorker, writeConfigFile } from "./worker-processes.js";

function countDuplicates(ids: string[]): { unique: number; duplicates: number } {
  const unique = new Set(ids).size;
  return { unique, duplicates: ids.length - unique };
}

export function processCases(options: SinkContractOptions): void {
  const main = options.workerMain;
  describe(`${options.name} worker processes`, { skip: main === undefined ? "no workerMain given" : false }, () => {
    const redisUrl = options.redisUrl ?? SHARED_REDIS_URL;
    let harness: SinkHarness;
    let conn: Redis;
    const prefixes: string[] = [];
    const workers: WorkerProcess[] = [];
    const cleanups: (() => Promise<void>)[] = [];

    before(async () => {
      harness = await options.makeHarness();
      conn = adminConnection(redisUrl);
    });
    after(async () => {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
      await Promise.all(workers.map((w) => w.exited));
      for (const c of cleanups) await c();
      for (const p of prefixes) await deleteKeysByPrefix(conn, p);
      await conn.quit();
      await harness.close();
    });

    async function setup(name: string) {
      const prefix = uniqueName("contract");
      prefixes.push(prefix);
      const raw = {
        ...harness.rawSinkConfig(),
        name,
        timeout: "5s",
        retry: { attempts: 20, delay: "50ms", maxDelay: "500ms" },
        concurrency: 16,
      };
      const cfg = await writeConfigFile({ redisUrl, prefix, sinks: [raw] });
      cleanups.push(cfg.remove);
      const sink = harness.sinkConfig({ name, retry: { attempts: 20, delayMs: 50, maxDelayMs: 500 } });
      return { prefix, sink, file: cfg.file };
    }

    async function start(file: string, args: string[] = []): Promise<WorkerProcess> {
      const w = await spawnWorker(main!, file, args);
      workers.push(w);
      return w;
    }

    it("three workers, one SIGKILLed mid-load: every event arrives at least once", async () => {
      harness.setMode(harness.modes.includes("slow") ? "slow" : "healthy");
      const total = options.killEvents ?? 2_000;
      const { prefix, sink, file } = await setup("killtest");
      const procs = await Promise.all([start(file), start(file), start(file)]);
      const events = Array.from({ length: total }, (_, i) => sampleEvent(i));
      await enqueue(conn, prefix, sink, events);
      await waitFor("a quarter delivered", async () => new Set(await harness.received()).size >= total / 4, {
        timeoutMs: 60_000,
      });
      procs[0]!.child.kill("SIGKILL");
      const killed = await procs[0]!.exited;
      assert.equal(killed.signal, "SIGKILL");
      const deliveredAtKill = new Set(await harness.received()).size;
      await waitFor(
        "every event delivered",
        async () => {
          const got = new Set(await harness.received());
          return events.every((e) => got.has(e.id));
        },
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      // The killed worker's in-flight jobs come back only after their locks expire: wait for the
      // queue to drain before counting, or their redeliveries would be missed.
      const status = await waitFor(
        "queue drained",
        async () => {
          const s = await getSinkStatus(conn, prefix, sink);
          return s.waiting + s.active + s.delayed === 0 ? s : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.equal(status.deadLetters, 0);
      const { unique, duplicates } = countDuplicates(await harness.received());
      console.log(
        `SIGKILL case: ${total} events, ${unique} distinct ids received, ${duplicates} duplicates ` +
          `(${deliveredAtKill} distinct delivered when worker ${procs[0]!.child.pid} was killed)`,
      );
      assert.equal(unique, total);
      for (const w of procs.slice(1)) w.child.kill("SIGTERM");
      for (const w of procs.slice(1)) assert.equal((await w.exited).code, 0);
      harness.setMode("healthy");
    });

    it("SIGTERM during load: in-flight deliveries complete, exit code 0, nothing left half-done", async (t) => {
      if (!harness.modes.includes("slow")) return t.skip("destination cannot be slow");
      harness.setMode("slow");
      const total = 400;
      const { prefix, sink, file } = await setup("termtest");
      const before = new Set(await harness.received());
      const proc = await start(file, ["--grace-ms", "20000"]);
      const events = Array.from({ length: total }, (_, i) => sampleEvent(i));
      await enqueue(conn, prefix, sink, events);
      const ids = new Set(events.map((e) => e.id));
      const deliveredOfThis = async () => (await harness.received()).filter((id) => ids.has(id) && !before.has(id));
      await waitFor("some delivered", async () => (await deliveredOfThis()).length >= 32, { timeoutMs: 60_000 });
      const inFlight = (await getSinkStatus(conn, prefix, sink)).active;
      proc.child.kill("SIGTERM");
      const exit = await proc.exited;
      assert.equal(exit.code, 0, proc.output.slice(-20).join("\n"));
      const status = await getSinkStatus(conn, prefix, sink);
      const delivered = countDuplicates(await deliveredOfThis());
      console.log(`SIGTERM case: ${inFlight} in flight at SIGTERM; ${delivered.unique} delivered before exit`);
      // Nothing was abandoned mid-attempt: no job is still active (locked by a dead process) and
      // none was pushed back for a retry; everything not delivered is still waiting.
      assert.equal(status.active, 0);
      assert.equal(status.delayed, 0);
      assert.equal(status.failed + status.deadLetters, 0);
      assert.equal(delivered.duplicates, 0);
      assert.equal(status.waiting + delivered.unique, total);
      harness.setMode("healthy");
    });
  });
}

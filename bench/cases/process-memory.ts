/**
 * Case 7 — memory of each Berth process, at idle (ready, nothing to do) and the maximum RSS sampled
 * every 100 ms under load: the registry (events on, two sinks) under a push/pull load vs
 * docker-registry under the same load, and the dashboard (no baseline) while its API is polled over
 * a loaded queue. The workers' RSS is sampled during the delivery case's runs (delivery-throughput.ts),
 * which already start them idle and load them, so it is not paid for twice.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, uniqueName } from "@berth/testing";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { startDockerRegistry, ensureDockerRegistry } from "../lib/baselines/docker-registry.js";
import { writeBerthConfig } from "../lib/berth-config.js";
import { startBerthRegistry, type RunningRegistry } from "../lib/berth-registry.js";
import { enqueuePaused, makeEvents, openSinkQueue, resolvedConfig } from "../lib/delivery-jobs.js";
import { CONCURRENCY, benchSink } from "../lib/delivery-run.js";
import { type Sample, memoryRows, sample } from "../lib/memory-rows.js";
import { HttpLoadClient, expectStatus, runConcurrently } from "../lib/load-generator.js";
import { downloadBlob, imageManifest, pushManifestTargets, putManifest, randomBlobs, uploadBlob } from "../lib/oci-client.js";
import { rssMb, sampleMaxRss } from "../lib/proc-status.js";
import { progress } from "../lib/progress.js";
import { deleteKeysByPrefix } from "../lib/redis-keys.js";
import { appEntry, appExists, spawnBerthApp } from "../lib/spawn-app.js";
import type { Row } from "../lib/table.js";
import { waitForHttp } from "../lib/wait-http.js";

const CLIENTS = 16;
const SETTLE_MS = 1000;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));


/** Idle RSS, then max RSS during 16 clients pushing and pulling blobs and pushing manifests. */
async function registryUnderLoad(registry: RunningRegistry, into: Sample, quick: boolean): Promise<void> {
  try {
    await settle();
    into.idle.push(rssMb(registry.process.pid));
    const client = new HttpLoadClient(registry.url, CLIENTS);
    const sampler = sampleMaxRss([registry.process.pid]);
    try {
      const targets = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => pushManifestTargets(client, `bench/mem-${c}`)));
      const blobs = randomBlobs(CLIENTS, (quick ? 2 : 8) * 2 ** 20);
      await runConcurrently(CLIENTS, blobs.length, (i) => uploadBlob(client, `bench/mem-${i}`, blobs[i]!));
      await runConcurrently(CLIENTS, blobs.length, async (i) => {
        await downloadBlob(client, `bench/mem-${i}`, blobs[i]!.digest);
      });
      const puts = quick ? 200 : 800;
      await runConcurrently(CLIENTS, puts, (i) => {
        const t = targets[i % CLIENTS]!;
        return putManifest(client, `bench/mem-${i % CLIENTS}`, `m${i}`, imageManifest(t.config, t.layer, `mem-${i}`));
      });
    } finally {
      into.load.push(sampler.stop()[0]!);
      client.close();
    }
  } finally {
    await registry.stop();
  }
}

async function registryRows(ctx: BenchContext): Promise<Row[]> {
  const haveBerth = appExists("registry", ctx.mode);
  const haveBaseline = await ensureDockerRegistry();
  const berth = sample();
  const base = sample();
  for (let rep = 0; rep < ctx.reps; rep++) {
    await interleaved(
      rep,
      async () => {
        if (!haveBerth) return;
        progress(`memory registry: rep ${rep + 1}/${ctx.reps} berth`);
        const prefix = uniqueName("berth-bench");
        try {
          // Nothing delivers these: the jobs wait in Redis, as when the workers are behind.
          const sinks = [
            benchSink({ kind: "http", address: "http://127.0.0.1:9/events" }, CONCURRENCY),
            benchSink({ kind: "nats", address: ctx.natsUrl, subject: `berth.bench.${prefix}` }, CONCURRENCY, "bench-nats"),
          ];
          const registry = await startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix, events: true, sinks });
          await registryUnderLoad(registry, berth, ctx.quick);
        } finally {
          await deleteKeysByPrefix(ctx.redisUrl, prefix);
        }
      },
      async () => {
        if (!haveBaseline) return;
        progress(`memory registry: rep ${rep + 1}/${ctx.reps} docker-registry`);
        await registryUnderLoad(await startDockerRegistry(), base, ctx.quick);
      },
    );
  }
  const notes: string[] = [];
  if (!haveBerth) notes.push(`Berth part missing: ${appEntry("registry", ctx.mode)}`);
  if (!haveBaseline) notes.push("baseline unavailable: docker-registry not installed");
  return memoryRows("registry (events on, 2 sinks) vs docker-registry", berth, haveBerth, haveBaseline ? base : undefined, notes);
}


/** The dashboard over a loaded sink queue: idle, then while its queue API is polled. */
async function dashboardRows(ctx: BenchContext, jobs: number): Promise<Row[]> {
  if (!appExists("dashboard", ctx.mode)) return [];
  const berth = sample();
  for (let rep = 0; rep < ctx.reps; rep++) {
    progress(`memory dashboard: rep ${rep + 1}/${ctx.reps}`);
    const dir = await mkdtemp(join(tmpdir(), "berth-bench-dashboard-"));
    const prefix = uniqueName("berth-bench");
    const port = await freePort();
    const sink = benchSink({ kind: "http", address: "http://127.0.0.1:9/events" }, CONCURRENCY);
    const options = { dir, redisUrl: ctx.redisUrl, prefix, events: true, sinks: [sink], dashboardPort: port };
    const proc = spawnBerthApp("dashboard", await writeBerthConfig(options), ctx.mode);
    const q = openSinkQueue(ctx.redisUrl, prefix, resolvedConfig(options).extensions.events.sinks[0]!);
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/healthz`, proc);
      await settle();
      berth.idle.push(rssMb(proc.pid));
      await enqueuePaused(q, resolvedConfig(options).extensions.events.sinks[0]!, makeEvents(jobs, "bench/dashboard"));
      const sampler = sampleMaxRss([proc.pid]);
      const client = new HttpLoadClient(url, 4);
      try {
        await runConcurrently(4, ctx.quick ? 20 : 60, async (i) => {
          // Bull Board's queue API (what its page polls) and the page itself.
          const path = i % 2 === 0 ? "/api/queues?activeQueue=&page=1&jobsPerPage=50" : "/";
          expectStatus(`dashboard GET ${path}`, await client.request("GET", path), 200);
        });
      } finally {
        client.close();
        berth.load.push(sampler.stop()[0]!);
      }
    } finally {
      await q.close();
      await proc.stop();
      await deleteKeysByPrefix(ctx.redisUrl, prefix);
      await rm(dir, { recursive: true, force: true });
    }
  }
  return memoryRows("dashboard (no baseline)", berth, true, undefined, []);
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const jobs = ctx.quick ? 1000 : 3000;
  return [
    ...(await registryRows(ctx)),
    ...(await dashboardRows(ctx, jobs)),
  ];
}

export const processMemory: BenchCase = {
  id: "memory",
  title: "Memory of each process, idle and under load",
  method:
    "RSS from /proc/<pid>/status: at idle = 1 s after the process is ready; under load = the maximum sampled every 100 ms during the " +
    "load. Registry: events on with an HTTP and a NATS sink (jobs queue up in Redis), 16 clients pushing and pulling 16 blobs of 8 MiB " +
    "and pushing 800 manifests; docker-registry under the same load. Dashboard: 3,000 waiting jobs, its queue API and page fetched " +
    "60 times. Workers (rows from the delivery case): sampled during its runs, vs the bare worker.",
  run,
};

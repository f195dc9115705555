/**
 * Case 3 — the cost of the outbox: manifest push throughput (16 clients) of the Berth registry with
 * events on (two sinks: one HTTP, one NATS, so every push writes two jobs to the real Redis under a
 * unique prefix) vs the same registry build with events off. Goal (issue 4): ratio ≥ 0.95.
 * Nothing delivers the jobs during the run; the case checks they were all written, then deletes them.
 */
import { sinkQueueName } from "@berth/queue";
import { uniqueName } from "@berth/testing";
import { Queue } from "bullmq";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { type RunningRegistry, startBerthRegistry } from "../lib/berth-registry.js";
import { CONCURRENCY, benchSink } from "../lib/delivery-run.js";
import { HttpLoadClient, runConcurrently } from "../lib/load-generator.js";
import { type Blob, imageManifest, pushManifestTargets, putManifest } from "../lib/oci-client.js";
import { progress } from "../lib/progress.js";
import { fetchMetrics, metricSum } from "../lib/prometheus-text.js";
import { deleteKeysByPrefix } from "../lib/redis-keys.js";
import { cpuMs } from "../lib/proc-status.js";
import { redisCpuMs } from "../lib/redis-cpu.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const CLIENTS = 16;

class Side {
  readonly client: HttpLoadClient;
  targets: { config: Blob; layer: Blob }[] = [];
  readonly rates: number[] = [];
  pushes = 0;
  /** CPU µs per PUT: the registry process, and the Redis server (all of it: nothing else writes during a side's turn). */
  readonly registryCpu: number[] = [];
  readonly redisCpu: number[] = [];

  constructor(
    readonly name: string,
    readonly registry: RunningRegistry,
  ) {
    this.client = new HttpLoadClient(registry.url, CLIENTS);
  }

  async prepare(): Promise<void> {
    this.targets = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => pushManifestTargets(this.client, `bench/outbox-${c}`)));
  }

  async measure(rep: number, puts: number, redisUrl: string): Promise<void> {
    progress(`outbox: rep ${rep + 1} events ${this.name}: ${puts} manifest PUTs`);
    const manifests = Array.from({ length: puts }, (_, i) => {
      const t = this.targets[i % CLIENTS]!;
      return imageManifest(t.config, t.layer, `outbox-${rep}-${i}`);
    });
    const cpu0 = cpuMs(this.registry.process.pid);
    const redis0 = await redisCpuMs(redisUrl);
    const r = await runConcurrently(CLIENTS, puts, (i) => putManifest(this.client, `bench/outbox-${i % CLIENTS}`, `r${rep}-${i}`, manifests[i]!));
    this.registryCpu.push(((cpuMs(this.registry.process.pid) - cpu0) * 1000) / puts);
    this.redisCpu.push((((await redisCpuMs(redisUrl)) - redis0) * 1000) / puts);
    this.rates.push(puts / r.seconds);
    this.pushes += puts;
  }
}

/** Jobs waiting in a sink queue: the proof that "events on" really wrote to Redis. */
async function waitingJobs(redisUrl: string, prefix: string, sink: { type: "http" | "nats"; name: string }): Promise<number> {
  const q = new Queue(sinkQueueName(sink), { connection: { url: redisUrl }, prefix });
  try {
    return await q.getJobCountByTypes("waiting", "delayed", "prioritized");
  } finally {
    await q.close();
  }
}

/** What the events-on registry's own metrics say about where the time went. */
async function outboxDiagnosis(registryUrl: string): Promise<string | undefined> {
  const text = await fetchMetrics(`${registryUrl}/metrics`);
  if (!text) return undefined;
  const seconds = metricSum(text, "berth_outbox_publish_seconds_sum");
  const count = metricSum(text, "berth_outbox_publish_seconds_count");
  const journaled = metricSum(text, "berth_outbox_journaled_total") ?? 0;
  const parts: string[] = [];
  if (seconds !== undefined && count) parts.push(`outbox publish mean ${((seconds / count) * 1000).toFixed(2)} ms`);
  if (journaled > 0) parts.push(`${journaled} events journaled (Redis slower than the enqueue bound)`);
  return parts.length ? parts.join(", ") : undefined;
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const label = "Outbox: manifest PUT/s, events on (2 sinks) vs off";
  const goal = { kind: "ratio-at-least", value: 0.95 } as const;
  if (!appExists("registry", ctx.mode)) {
    return [{ case: label, unit: "/s", goal, note: `Berth part missing: ${appEntry("registry", ctx.mode)}`, missingPart: true }];
  }
  const puts = ctx.quick ? 400 : 800;
  const prefix = uniqueName("berth-bench");
  const sinks = [
    benchSink({ kind: "http", address: "http://127.0.0.1:9/events" }, CONCURRENCY, "bench-http"),
    benchSink({ kind: "nats", address: ctx.natsUrl, subject: `berth.bench.${prefix}` }, CONCURRENCY, "bench-nats"),
  ];
  const started: RunningRegistry[] = [];
  try {
    const onRegistry = await startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix, events: true, sinks, label: "registry-events-on" });
    started.push(onRegistry);
    const offRegistry = await startBerthRegistry({ mode: ctx.mode, redisUrl: ctx.redisUrl, prefix, events: false, label: "registry-events-off" });
    started.push(offRegistry);
    const on = new Side("on", onRegistry);
    const off = new Side("off", offRegistry);
    await Promise.all([on.prepare(), off.prepare()]);
    for (let rep = 0; rep < ctx.reps; rep++) {
      await interleaved(rep, () => on.measure(rep, puts, ctx.redisUrl), () => off.measure(rep, puts, ctx.redisUrl));
    }
    on.client.close();
    off.client.close();
    // Every manifest PUT by tag emits image.updated (plus one repository.created per repository).
    for (const sink of sinks) {
      const jobs = await waitingJobs(ctx.redisUrl, prefix, sink);
      if (jobs < on.pushes) throw new Error(`events on, but only ${jobs} jobs in ${sinkQueueName(sink)} after ${on.pushes} pushes`);
    }
    const diagnosis = await outboxDiagnosis(onRegistry.url);
    return [
      {
        case: label,
        unit: "/s",
        goal,
        berth: summarize(on.rates),
        baseline: summarize(off.rates),
        ratio: summarize(pairedRatios(on.rates, off.rates)),
        ...(diagnosis ? { note: diagnosis } : {}),
      },
      {
        case: "Outbox: registry CPU per manifest PUT, events on vs off (lower is better)",
        unit: "µs",
        berth: summarize(on.registryCpu),
        baseline: summarize(off.registryCpu),
        ratio: summarize(pairedRatios(on.registryCpu, off.registryCpu)),
      },
      {
        case: "Outbox: Redis CPU per manifest PUT, events on vs off (lower is better)",
        unit: "µs",
        berth: summarize(on.redisCpu),
        baseline: summarize(off.redisCpu),
      },
    ];
  } finally {
    await Promise.all(started.map((r) => r.stop()));
    await deleteKeysByPrefix(ctx.redisUrl, prefix);
  }
}

export const outboxThroughput: BenchCase = {
  id: "outbox",
  title: "Outbox cost: push throughput with events on vs off",
  method:
    "Two Berth registry processes side by side, one with events on (an HTTP and a NATS sink: two BullMQ jobs per event, written to the " +
    "shared Redis under a unique prefix before the PUT is answered) and one with events off; 16 clients PUT 800 distinct manifests " +
    "by tag to each, interleaved. The job count is checked after the run, then the prefix is deleted.",
  run,
};

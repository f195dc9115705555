/**
 * Case 3 — the cost of the outbox: image push throughput (16 clients) of the Berth registry with
 * events on (two sinks: one HTTP, one NATS, so every push writes two jobs to the real Redis under a
 * unique prefix) vs the same registry build with events off. Goal (issue 4): ratio ≥ 0.95.
 * A push is what skopeo does for a small image (HEAD, upload config and a 32 KiB layer, PUT the
 * manifest); the worst case, manifest PUTs alone, is reported beside it without a goal.
 * Nothing delivers the jobs during the run; the case checks they were all written, then deletes them.
 *
 * Issue 15: two more events-on registries write their jobs with BullMQ's supported bulk paths
 * (`Queue.addBulk` per queue, `FlowProducer.addBulk`; sequence numbers and the event log in a
 * round trip of their own before, see packages/outbox/src/bulk-add-paths.ts) instead of the
 * add-jobs script; they run in the same rotation of image-push slices, each against the same
 * events-off registry, so all three add paths are compared in one run.
 */
import { sinkQueueName } from "@berth/queue";
import { redisCpuMs, startRedisServer, uniqueName } from "@berth/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import type { AddPath } from "@berth/outbox";
import { type RunningRegistry, startBerthRegistry } from "../lib/berth-registry.js";
import { CONCURRENCY, benchSink } from "../lib/delivery-run.js";
import { HttpLoadClient, runConcurrently } from "../lib/load-generator.js";
import { type Blob, distinctImage, imageManifest, pushImage, pushManifestTargets, putManifest } from "../lib/oci-client.js";
import { progress } from "../lib/progress.js";
import { fetchMetrics, metricSum } from "../lib/prometheus-text.js";
import { deleteKeysByPrefix } from "../lib/redis-keys.js";
import { cpuMs } from "../lib/proc-status.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const CLIENTS = 16;
/** The layer of each pushed image: smaller than almost any real layer, so the event's share is large. */
const LAYER_BYTES = 32 * 1024;

type Workload = "push" | "manifest";

/**
 * Each repetition is cut into this many slices per side, run alternately (ABBA: the order flips
 * every slice), so both registries see the same minutes of a noisy shared machine: with one
 * block per side per repetition, the paired ratio of the same build swung 0.68–1.09; with 8 slices
 * of 50 pushes (400 per repetition, ~1.5 s per side) a full run still spread 0.92–1.00.
 */
const SLICES = 16;

/** Rate and CPU samples of one registry for one workload, one entry per repetition. */
class Samples {
  readonly rates: number[] = [];
  /** CPU µs per operation: the registry process, and the Redis server (nothing else writes during a side's turn). */
  readonly registryCpu: number[] = [];
  readonly redisCpu: number[] = [];
}

/** What the slices of one repetition add up to, for one side. */
class Tally {
  ops = 0;
  seconds = 0;
  registryCpuMs = 0;
  redisCpuMs = 0;

  into(s: Samples): void {
    s.rates.push(this.ops / this.seconds);
    s.registryCpu.push((this.registryCpuMs * 1000) / this.ops);
    s.redisCpu.push((this.redisCpuMs * 1000) / this.ops);
  }
}

class Side {
  readonly client: HttpLoadClient;
  targets: { config: Blob; layer: Blob }[] = [];
  readonly samples: Record<Workload, Samples> = { push: new Samples(), manifest: new Samples() };
  /** Operations that emitted image.updated: the jobs each sink queue must hold afterwards. */
  events = 0;

  constructor(
    readonly name: string,
    readonly registry: RunningRegistry,
    private readonly redis: Redis,
    /** Where its jobs are (events on). */
    readonly prefix?: string,
  ) {
    this.client = new HttpLoadClient(registry.url, CLIENTS);
  }

  async prepare(): Promise<void> {
    this.targets = await Promise.all(Array.from({ length: CLIENTS }, (_, c) => pushManifestTargets(this.client, `bench/outbox-${c}`)));
  }

  /** Whole image pushes: HEAD + upload of a fresh config and layer, then the manifest. */
  async pushes(tally: Tally, tag: string, count: number): Promise<void> {
    const images = Array.from({ length: count }, (_, i) => distinctImage(`${this.name}-${tag}-${i}`, LAYER_BYTES));
    await this.measure(tally, count, (i) => pushImage(this.client, `bench/outbox-${i % CLIENTS}`, `p${tag}-${i}`, images[i]!));
  }

  /** Manifest PUTs alone over blobs pushed beforehand: every request emits an event (the worst case). */
  async manifests(tally: Tally, tag: string, count: number): Promise<void> {
    const manifests = Array.from({ length: count }, (_, i) => {
      const t = this.targets[i % CLIENTS]!;
      return imageManifest(t.config, t.layer, `outbox-${tag}-${i}`);
    });
    await this.measure(tally, count, (i) => putManifest(this.client, `bench/outbox-${i % CLIENTS}`, `m${tag}-${i}`, manifests[i]!));
  }

  private async measure(tally: Tally, count: number, op: (i: number) => Promise<void>): Promise<void> {
    const cpu0 = cpuMs(this.registry.process.pid);
    const redis0 = await redisCpuMs(this.redis);
    const r = await runConcurrently(CLIENTS, count, op);
    tally.registryCpuMs += cpuMs(this.registry.process.pid) - cpu0;
    tally.redisCpuMs += (await redisCpuMs(this.redis)) - redis0;
    tally.seconds += r.seconds;
    tally.ops += count;
    this.events += count;
  }
}

/**
 * One repetition of a workload: SLICES slices per side, then one sample each. The first two
 * sides (events on, events off: the goal row) always run next to each other, ABBA as
 * `interleaved`; the others (the bulk add paths) around them, mirrored every slice:
 * A B C D, D C B A, … On a loaded machine the rate swings within seconds, so the pair the goal
 * compares must not be split by other slices.
 */
async function repetition(rep: number, workload: Workload, total: number, sides: readonly Side[]): Promise<void> {
  progress(`outbox: repetition ${rep + 1}: ${total} ${workload === "push" ? "image pushes" : "manifest PUTs"} per side (${sides.length} sides), in ${SLICES} alternating slices`);
  const tallies = sides.map(() => new Tally());
  const count = Math.ceil(total / SLICES);
  const [on, off, ...others] = sides.map((side, i) => ({ side, tally: tallies[i]! }));
  const forward = [...others.slice(0, 1), on!, off!, ...others.slice(1)];
  for (let slice = 0; slice < SLICES; slice++) {
    const tag = `${rep}-${slice}`;
    const order = (rep + slice) % 2 === 0 ? forward : [...forward].reverse();
    for (const { side, tally } of order) {
      await (workload === "push" ? side.pushes(tally, tag, count) : side.manifests(tally, tag, count));
    }
  }
  for (const [i, side] of sides.entries()) tallies[i]!.into(side.samples[workload]);
}

/** BullMQ's supported bulk paths, each on its own events-on registry (issue 15). */
const BULK_PATHS: readonly { path: Exclude<AddPath, "script">; label: string }[] = [
  { path: "queue-add-bulk", label: "Queue.addBulk" },
  { path: "flow-add-bulk", label: "FlowProducer.addBulk" },
];

function cpuRows(workload: Workload, what: string, on: Side, off: Side): Row[] {
  const a = on.samples[workload];
  const b = off.samples[workload];
  return [
    {
      case: `Outbox: registry CPU per ${what}, events on vs off (lower is better)`,
      unit: "µs",
      berth: summarize(a.registryCpu),
      baseline: summarize(b.registryCpu),
      ratio: summarize(pairedRatios(a.registryCpu, b.registryCpu)),
    },
    { case: `Outbox: Redis CPU per ${what}, events on vs off (lower is better)`, unit: "µs", berth: summarize(a.redisCpu), baseline: summarize(b.redisCpu) },
  ];
}

/** A bulk path's image-push rate vs events off (the goal), and its CPU vs the add-jobs script. */
function bulkRows(path: string, side: Side, script: Side, off: Side, goal: Row["goal"]): Row[] {
  const a = side.samples.push;
  const s = script.samples.push;
  return [
    {
      case: `Outbox via ${path} (bench-only add path): image pushes/s, events on (2 sinks) vs off`,
      unit: "/s",
      ...(goal ? { goal } : {}),
      berth: summarize(a.rates),
      baseline: summarize(off.samples.push.rates),
      ratio: summarize(pairedRatios(a.rates, off.samples.push.rates)),
    },
    {
      case: `Outbox via ${path}: registry CPU per image push vs the add-jobs script (lower is better)`,
      unit: "µs",
      berth: summarize(a.registryCpu),
      baseline: summarize(s.registryCpu),
      ratio: summarize(pairedRatios(a.registryCpu, s.registryCpu)),
    },
    {
      case: `Outbox via ${path}: Redis CPU per image push vs the add-jobs script (lower is better)`,
      unit: "µs",
      berth: summarize(a.redisCpu),
      baseline: summarize(s.redisCpu),
      ratio: summarize(pairedRatios(a.redisCpu, s.redisCpu)),
    },
  ];
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
  const label = "Outbox: image pushes/s, events on (2 sinks) vs off";
  const goal = { kind: "ratio-at-least", value: 0.95 } as const;
  if (!appExists("registry", ctx.mode)) {
    return [{ case: label, unit: "/s", goal, note: `Berth part missing: ${appEntry("registry", ctx.mode)}`, missingPart: true }];
  }
  const puts = ctx.quick ? 400 : 800;
  const pushes = ctx.quick ? 200 : 1600;
  const prefix = uniqueName("berth-bench");
  const sinks = [
    benchSink({ kind: "http", address: "http://127.0.0.1:9/events" }, CONCURRENCY, "bench-http"),
    benchSink({ kind: "nats", address: ctx.natsUrl, subject: `berth.bench.${prefix}` }, CONCURRENCY, "bench-nats"),
  ];
  const started: RunningRegistry[] = [];
  const prefixes = [prefix];
  // A private redis-server: only the events-on side uses Redis, so the shared one's other clients
  // (tests running beside the bench) would slow that side alone and fill the Redis CPU rows.
  const server = await startRedisServer();
  const redisUrl = server.url;
  // One connection for the INFO cpu readings around each measured run.
  const stats = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const onRegistry = await startBerthRegistry({ mode: ctx.mode, redisUrl, prefix, events: true, sinks, label: "registry-events-on" });
    started.push(onRegistry);
    const offRegistry = await startBerthRegistry({ mode: ctx.mode, redisUrl, prefix, events: false, label: "registry-events-off" });
    started.push(offRegistry);
    const on = new Side("on", onRegistry, stats, prefix);
    const off = new Side("off", offRegistry, stats);
    const bulk: { label: string; side: Side }[] = [];
    for (const { path, label } of BULK_PATHS) {
      const bulkPrefix = `${prefix}-${path}`;
      prefixes.push(bulkPrefix);
      const registry = await startBerthRegistry({
        mode: ctx.mode,
        redisUrl,
        prefix: bulkPrefix,
        events: true,
        sinks,
        label: `registry-${path}`,
        env: { BERTH_BENCH_OUTBOX_ADD_PATH: path },
      });
      started.push(registry);
      bulk.push({ label, side: new Side(path, registry, stats, bulkPrefix) });
    }
    const pushSides = [on, off, ...bulk.map((b) => b.side)];
    await Promise.all(pushSides.map((side) => side.prepare()));
    for (let rep = 0; rep < ctx.reps; rep++) {
      await repetition(rep, "push", pushes, pushSides);
      await repetition(rep, "manifest", puts, [on, off]);
    }
    for (const side of pushSides) side.client.close();
    // Every image push and every manifest PUT by tag emits image.updated (and each repository's
    // first write one repository.created).
    for (const side of [on, ...bulk.map((b) => b.side)]) {
      for (const sink of sinks) {
        const jobs = await waitingJobs(redisUrl, side.prefix!, sink);
        if (jobs < side.events) throw new Error(`events on (${side.name}), but only ${jobs} jobs in ${sinkQueueName(sink)} after ${side.events} operations`);
      }
    }
    const diagnosis = await outboxDiagnosis(onRegistry.url);
    const rate = (side: Side, w: Workload) => side.samples[w].rates;
    return [
      {
        case: label,
        unit: "/s",
        goal,
        berth: summarize(rate(on, "push")),
        baseline: summarize(rate(off, "push")),
        ratio: summarize(pairedRatios(rate(on, "push"), rate(off, "push"))),
      },
      {
        case: "Outbox, worst case: manifest PUTs alone (every request an event), events on vs off",
        unit: "/s",
        berth: summarize(rate(on, "manifest")),
        baseline: summarize(rate(off, "manifest")),
        ratio: summarize(pairedRatios(rate(on, "manifest"), rate(off, "manifest"))),
        ...(diagnosis ? { note: diagnosis } : {}),
      },
      ...cpuRows("push", "image push", on, off),
      ...cpuRows("manifest", "manifest PUT", on, off),
      ...bulk.flatMap(({ label: path, side }) => bulkRows(path, side, on, off, goal)),
    ];
  } finally {
    stats.disconnect();
    await Promise.all(started.map((r) => r.stop()));
    for (const p of prefixes) await deleteKeysByPrefix(redisUrl, p);
    await server.destroy();
  }
}

export const outboxThroughput: BenchCase = {
  id: "outbox",
  title: "Outbox cost: push throughput with events on vs off",
  method:
    "Two Berth registry processes side by side, one with events on (an HTTP and a NATS sink: two BullMQ jobs per event, written to the " +
    "Redis under a unique prefix before the PUT is answered) and one with events off; 16 clients; each repetition is cut into 16 slices per side run alternately (ABBA), so both sides share the machine's noise. Goal row: 1,600 per repetition: " +
    "image pushes to each side, as skopeo makes them (per blob a HEAD, then POST + PATCH + PUT: a fresh config and one random 32 KiB layer; " +
    "then the manifest PUT by tag: one image.updated each). Worst-case row: 800 manifest PUTs alone over blobs pushed beforehand, so " +
    "every request emits an event. CPU rows: the registry process (/proc, all threads) and the Redis server (INFO cpu) per operation. " +
    "Redis is a private redis-server started by the case (no persistence), so other clients of the shared one cannot slow the events-on side alone. " +
    "The job count is checked after the run, then the prefix is deleted. Add-path rows (issue 15): two more events-on registries " +
    "write their jobs with BullMQ's Queue.addBulk (per queue) or FlowProducer.addBulk (all queues, one MULTI) instead of the add-jobs " +
    "script, sequence numbers and event log in a small script of their own first; their image-push slices rotate with the other two sides.",
  run,
};

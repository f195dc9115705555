/**
 * Case 5 — latency, event time → received, at a paced 100 and 500 events/s. Berth: the outbox
 * producer (in this process, as in the registry) → Redis → the worker app → the receiver. Baseline:
 * a plain BullMQ `Queue.add` → the bare worker → the same receiver. Goal (issue 5): HTTP p99 < 15 ms
 * at 500/s. The first half second of each run is warm-up and not counted.
 */
import { DELIVERY_JOB_NAME, type DeliveryJobData, deliveryJobOptions } from "@berth/queue";
import { openOutbox } from "@berth/outbox";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import type { BerthEvent } from "@berth/events";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { ArrivalLog } from "../lib/arrival-log.js";
import { CONCURRENCY, type Deliverers, type DeliveryKind, type DeliverySide, startDeliverers } from "../lib/delivery-run.js";
import { makeEvents, openSinkQueue } from "../lib/delivery-jobs.js";
import { KIND_LABEL, type OpenTarget, WORKER_APP, openTarget } from "../lib/delivery-targets.js";
import { paced } from "../lib/pacer.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, percentile, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const RATES = [100, 500] as const;
const PERCENTILES = [50, 95, 99] as const;
const WARMUP_S = 0.5;

type Percentiles = Record<(typeof PERCENTILES)[number], number>;

/** A producer the way each side enqueues: Berth's outbox, or a bare `Queue.add`. */
interface Producer {
  send(event: BerthEvent): Promise<unknown>;
  close(): Promise<void>;
}

async function producerFor(side: DeliverySide, d: Deliverers, ctx: BenchContext): Promise<Producer> {
  if (side === "berth") {
    const outbox = await openOutbox({ config: d.config, logger: silentLogger(), metrics: createMetricsRegistry("bench-outbox") });
    return { send: (event) => outbox.publish([event]), close: () => outbox.close() };
  }
  const q = openSinkQueue(ctx.redisUrl, d.prefix, d.sink);
  return {
    send: (event) =>
      q.queue.add(DELIVERY_JOB_NAME, { event, sink: d.sink.name } satisfies DeliveryJobData, deliveryJobOptions(d.sink, event.id)),
    close: () => q.close(),
  };
}

async function measureAt(side: DeliverySide, d: Deliverers, producer: Producer, target: OpenTarget, rate: number, seconds: number): Promise<Percentiles> {
  const warmup = Math.round(rate * WARMUP_S);
  const events = makeEvents(warmup + Math.round(rate * seconds), "bench/latency");
  const sentAt = new Map<string, number>();
  const log = new ArrivalLog(new Set(events.map((e) => e.id)));
  const pending: Promise<unknown>[] = [];
  target.receiver.log = log;
  try {
    await paced(rate, events.length, (i) => {
      // The event's time is the moment it is handed to the producer, as in the registry.
      const event = { ...events[i]!, time: new Date().toISOString() };
      sentAt.set(event.id, performance.now());
      pending.push(producer.send(event));
    });
    await Promise.all(pending);
    await log.waitAll(`${side} ${target.kind} latency at ${rate}/s`, d.procs, 60_000);
  } finally {
    target.receiver.log = undefined;
  }
  const latencies = events.slice(warmup).map((e) => log.arrivals.get(e.id)! - sentAt.get(e.id)!);
  return { 50: percentile(latencies, 50), 95: percentile(latencies, 95), 99: percentile(latencies, 99) };
}

type Results = Record<number, Record<number, number[]>>;
const emptyResults = (): Results => Object.fromEntries(RATES.map((r) => [r, { 50: [], 95: [], 99: [] }]));

async function runSide(ctx: BenchContext, side: DeliverySide, target: OpenTarget, seconds: number, into: Results, rep: number): Promise<void> {
  progress(`latency ${target.kind}: rep ${rep + 1}/${ctx.reps} ${side}`);
  const d = await startDeliverers({ ctx, side, target, processes: 1, concurrency: CONCURRENCY });
  try {
    const producer = await producerFor(side, d, ctx);
    try {
      for (const rate of RATES) {
        const p = await measureAt(side, d, producer, target, rate, seconds);
        for (const q of PERCENTILES) into[rate]![q]!.push(p[q]);
      }
    } finally {
      await producer.close();
    }
  } finally {
    await d.stop();
  }
}

async function runKind(ctx: BenchContext, kind: DeliveryKind, seconds: number): Promise<Row[]> {
  const haveBerth = appExists(WORKER_APP[kind], ctx.mode);
  const target = await openTarget(kind, ctx.natsUrl);
  const berth = emptyResults();
  const bare = emptyResults();
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      await interleaved(
        rep,
        async () => (haveBerth ? runSide(ctx, "berth", target, seconds, berth, rep) : undefined),
        () => runSide(ctx, "bare", target, seconds, bare, rep),
      );
    }
  } finally {
    await target.close();
  }
  return RATES.flatMap((rate) =>
    PERCENTILES.map((q): Row => {
      const goal = kind === "http" && rate === 500 && q === 99;
      return {
        case: `Latency p${q}, ${KIND_LABEL[kind]} at ${rate}/s (lower is better)`,
        unit: "ms",
        ...(goal ? { goal: { kind: "berth-below", value: 15, unit: "ms" } } : {}),
        baseline: summarize(bare[rate]![q]!),
        ...(haveBerth
          ? { berth: summarize(berth[rate]![q]!), ratio: summarize(pairedRatios(berth[rate]![q]!, bare[rate]![q]!)) }
          : { note: `Berth part missing: ${appEntry(WORKER_APP[kind], ctx.mode)}`, missingPart: true }),
      };
    }),
  );
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const seconds = ctx.quick ? 1.5 : 2;
  return [...(await runKind(ctx, "http", seconds)), ...(await runKind(ctx, "nats", seconds))];
}

export const latency: BenchCase = {
  id: "latency",
  title: "Latency event → received at 100 and 500 events/s",
  method:
    "Events paced at 100/s then 500/s for 2 s each (after 0.5 s of warm-up, not counted). Berth: openOutbox() in the bench process, as " +
    "the registry uses it → Redis → the worker app → receiver. Baseline: Queue.add with the same job options → the bare worker → the " +
    "same receiver. Latency = arrival − the moment the event was handed to the producer.",
  run,
};

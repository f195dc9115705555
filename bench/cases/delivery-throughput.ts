/**
 * Case 4 — delivery rate: Berth's worker process (delivery runtime + sink) vs a bare BullMQ Worker
 * doing only the transport call, on the same Redis, same concurrency, same pre-enqueued jobs with
 * the same job options. Goals (issues 5, 6): ≥ 0.85× for HTTP, NATS core and JetStream.
 */
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { CONCURRENCY, type DeliveryKind, type DeliveryRunResult, deliveryRun } from "../lib/delivery-run.js";
import { KIND_LABEL, WORKER_APP, openTarget } from "../lib/delivery-targets.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import { type Sample, memoryRows, sample } from "../lib/memory-rows.js";

const KINDS: readonly DeliveryKind[] = ["http", "nats", "jetstream"];
const BASELINE: Record<DeliveryKind, string> = {
  http: "bare got POST",
  nats: "bare publish + flush",
  jetstream: "bare js.publish + ack",
};

async function runKind(ctx: BenchContext, kind: DeliveryKind, jobs: number): Promise<Row[]> {
  const haveBerth = appExists(WORKER_APP[kind], ctx.mode);
  const target = await openTarget(kind, ctx.natsUrl);
  const berth: number[] = [];
  const bare: number[] = [];
  const berthRss = sample();
  const bareRss = sample();
  const berthCpu: number[] = [];
  const bareCpu: number[] = [];
  const record = (r: DeliveryRunResult, rates: number[], rss: Sample, cpu: number[]) => {
    rates.push(r.rate);
    cpu.push(r.cpuMsPerEvent * 1000);
    rss.idle.push(r.idleRssMb[0]!);
    rss.load.push(r.loadRssMb[0]!);
  };
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      const opts = { ctx, target, processes: 1, concurrency: CONCURRENCY };
      await interleaved(
        rep,
        async () => {
          if (!haveBerth) return;
          progress(`delivery ${kind}: rep ${rep + 1}/${ctx.reps} berth (${jobs} jobs)`);
          record(await deliveryRun({ ...opts, side: "berth" }, jobs), berth, berthRss, berthCpu);
        },
        async () => {
          progress(`delivery ${kind}: rep ${rep + 1}/${ctx.reps} bare worker (${jobs} jobs)`);
          record(await deliveryRun({ ...opts, side: "bare" }, jobs), bare, bareRss, bareCpu);
        },
      );
    }
  } finally {
    await target.close();
  }
  const rate: Row = {
    case: `Delivery rate, ${KIND_LABEL[kind]} (vs ${BASELINE[kind]})`,
    unit: "/s",
    goal: { kind: "ratio-at-least", value: 0.85 },
    baseline: summarize(bare),
    ...(haveBerth
      ? { berth: summarize(berth), ratio: summarize(pairedRatios(berth, bare)) }
      : { note: `Berth part missing: ${appEntry(WORKER_APP[kind], ctx.mode)}`, missingPart: true }),
  };
  // Where a rate gap comes from: the worker's own CPU per event (not Redis', not the receiver's).
  const cpu: Row = {
    case: `Worker CPU per event, ${KIND_LABEL[kind]} (lower is better)`,
    unit: "µs",
    baseline: summarize(bareCpu),
    ...(haveBerth
      ? { berth: summarize(berthCpu), ratio: summarize(pairedRatios(berthCpu, bareCpu)) }
      : { note: `Berth part missing: ${appEntry(WORKER_APP[kind], ctx.mode)}`, missingPart: true }),
  };
  // Case 7's worker rows: the processes of these very runs, idle before and sampled during delivery.
  if (kind === "jetstream") return [rate, cpu];
  const missing = haveBerth ? [] : [`Berth part missing: ${appEntry(WORKER_APP[kind], ctx.mode)}`];
  return [rate, cpu, ...memoryRows(`${WORKER_APP[kind]} vs bare ${kind} worker`, berthRss, haveBerth, bareRss, missing)];
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const jobs = ctx.quick ? 1500 : 4000;
  const rows: Row[] = [];
  for (const kind of KINDS) rows.push(...(await runKind(ctx, kind, jobs)));
  // Rates first, then the memory rows, so the table reads by topic.
  const byUnit = (unit: string) => rows.filter((r) => r.unit === unit);
  return [...byUnit("/s"), ...byUnit("µs"), ...byUnit("MB")];
}

export const deliveryThroughput: BenchCase = {
  id: "delivery",
  title: "Delivery rate vs a bare BullMQ worker",
  method:
    "4,000 jobs with the catalog's payload and options (removeOnComplete: true) pre-enqueued into a paused sink queue on the shared " +
    "Redis; one delivering process (Berth's worker-http / worker-nats app, or bench/lib/baselines/bare-worker.ts: a BullMQ Worker doing " +
    "only got POST / publish+flush / js.publish with ack per job), concurrency 16 both; the queue is resumed once the worker is registered, " +
    "and the run lasts until the last " +
    "arrival at a local 204 receiver or NATS subscriber; the rate is taken between the 10th and 90th percentile arrivals (steady state). " +
    "JetStream: a stream created for the bench subject, deleted after. The workers' RSS rows (idle before the run, max during it) " +
    "come from these runs, as does the worker's CPU time (utime+stime) per delivered event.",
  run,
};

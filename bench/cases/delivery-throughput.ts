/**
 * Case 4 — delivery rate: Berth's worker process (delivery runtime + sink) vs a bare BullMQ Worker
 * doing only the transport call, on the same Redis, same concurrency, same pre-enqueued jobs with
 * the same job options. Goals (issues 5, 6): ≥ 0.85× for HTTP, NATS core and JetStream.
 */
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { type DeliveryKind, deliveryRun } from "../lib/delivery-run.js";
import { KIND_LABEL, WORKER_APP, openTarget } from "../lib/delivery-targets.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

export const CONCURRENCY = 16;
const KINDS: readonly DeliveryKind[] = ["http", "nats", "jetstream"];
const BASELINE: Record<DeliveryKind, string> = {
  http: "bare got POST",
  nats: "bare publish + flush",
  jetstream: "bare js.publish + ack",
};

async function runKind(ctx: BenchContext, kind: DeliveryKind, jobs: number): Promise<Row> {
  const haveBerth = appExists(WORKER_APP[kind], ctx.mode);
  const target = await openTarget(kind, ctx.natsUrl);
  const berth: number[] = [];
  const bare: number[] = [];
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      const opts = { ctx, target, processes: 1, concurrency: CONCURRENCY };
      await interleaved(
        rep,
        async () => {
          if (!haveBerth) return;
          progress(`delivery ${kind}: rep ${rep + 1}/${ctx.reps} berth (${jobs} jobs)`);
          berth.push((await deliveryRun({ ...opts, side: "berth" }, jobs)).rate);
        },
        async () => {
          progress(`delivery ${kind}: rep ${rep + 1}/${ctx.reps} bare worker (${jobs} jobs)`);
          bare.push((await deliveryRun({ ...opts, side: "bare" }, jobs)).rate);
        },
      );
    }
  } finally {
    await target.close();
  }
  return {
    case: `Delivery rate, ${KIND_LABEL[kind]} (vs ${BASELINE[kind]})`,
    unit: "/s",
    goal: { kind: "ratio-at-least", value: 0.85 },
    baseline: summarize(bare),
    ...(haveBerth
      ? { berth: summarize(berth), ratio: summarize(pairedRatios(berth, bare)) }
      : { note: `Berth part missing: ${appEntry(WORKER_APP[kind], ctx.mode)}`, missingPart: true }),
  };
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const jobs = ctx.quick ? 1500 : 6000;
  const rows: Row[] = [];
  for (const kind of KINDS) rows.push(await runKind(ctx, kind, jobs));
  return rows;
}

export const deliveryThroughput: BenchCase = {
  id: "delivery",
  title: "Delivery rate vs a bare BullMQ worker",
  method:
    "6,000 jobs with the catalog's payload and options (removeOnComplete: true) pre-enqueued into a paused sink queue on the shared " +
    "Redis; one delivering process (Berth's worker-http / worker-nats app, or bench/lib/baselines/bare-worker.ts: a BullMQ Worker doing " +
    "only got POST / publish+flush / js.publish with ack per job), concurrency 16 both; the clock runs from queue resume to the last " +
    "arrival at a local 204 receiver or NATS subscriber. JetStream: a stream created for the bench subject, deleted after.",
  run,
};

/**
 * Case 6 — horizontal scale: the delivery rate of 2 worker processes vs 1, per sink type, on the
 * same pre-enqueued jobs. The baseline is Berth itself with one process; no goal is set (on a
 * 2-core machine the receiver, Redis and the workers share the same cores).
 */
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { CONCURRENCY, type DeliveryKind, deliveryRun } from "../lib/delivery-run.js";
import { WORKER_APP, openTarget } from "../lib/delivery-targets.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const KINDS: readonly DeliveryKind[] = ["http", "nats"];

async function runKind(ctx: BenchContext, kind: DeliveryKind, jobs: number): Promise<Row> {
  const label = `Scale: 2 vs 1 ${WORKER_APP[kind]} processes`;
  if (!appExists(WORKER_APP[kind], ctx.mode)) {
    return { case: label, unit: "/s", note: `Berth part missing: ${appEntry(WORKER_APP[kind], ctx.mode)}`, missingPart: true };
  }
  const target = await openTarget(kind, ctx.natsUrl);
  const one: number[] = [];
  const two: number[] = [];
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      const opts = { ctx, target, side: "berth" as const, concurrency: CONCURRENCY };
      await interleaved(
        rep,
        async () => {
          progress(`scale ${kind}: rep ${rep + 1}/${ctx.reps} 2 processes (${jobs} jobs)`);
          two.push((await deliveryRun({ ...opts, processes: 2 }, jobs)).rate);
        },
        async () => {
          progress(`scale ${kind}: rep ${rep + 1}/${ctx.reps} 1 process (${jobs} jobs)`);
          one.push((await deliveryRun({ ...opts, processes: 1 }, jobs)).rate);
        },
      );
    }
  } finally {
    await target.close();
  }
  return { case: label, unit: "/s", berth: summarize(two), baseline: summarize(one), ratio: summarize(pairedRatios(two, one)) };
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const jobs = ctx.quick ? 1500 : 4000;
  const rows: Row[] = [];
  for (const kind of KINDS) rows.push(await runKind(ctx, kind, jobs));
  return rows;
}

export const scale: BenchCase = {
  id: "scale",
  title: "Delivery rate with 1 vs 2 worker processes",
  method:
    "As the delivery case, with Berth's worker app only: two processes (Berth column) vs one (baseline column), concurrency 16 each; " +
    "both processes are registered on the queue before it is resumed. HTTP and NATS core.",
  run,
};

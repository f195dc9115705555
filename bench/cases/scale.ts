/**
 * Case 6 — horizontal scale: the delivery rate of 2 worker processes vs 1, per sink type, on the
 * same pre-enqueued jobs. The baseline is Berth itself with one process; no goal is set for these
 * rows (on a 2-core machine the receiver, Redis and the workers share the same cores, and an
 * instant receiver makes delivery CPU-bound).
 *
 * What more workers are for shows with a receiver that does I/O: it answers after 20–50 ms, so a
 * process's throughput is bounded by its concurrency over the receiver's latency, not by CPU.
 * 1, 2 and 4 worker-http processes at the same per-process concurrency, in each repetition
 * (order reversed every other one); goals ≥ 1.8× at 2 and ≥ 3.2× at 4. The same for worker-nats
 * publishing to JetStream through a proxy that adds a 20–50 ms round trip (startTcpRelay of @berth/testing; see JETSTREAM_IO_NOTE).
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

/** The I/O-bound receiver's answer delay, and each process's jobs in flight. */
const IO_DELAY_MS = [20, 50] as const;
// Low enough that 4 processes need well under one core on the bench machine (about 450 events/s at
// ~0.9 ms of worker CPU each): the rows measure what processes add to I/O-bound delivery, not
// where the machine runs out of CPU.
const IO_CONCURRENCY = 4;
const IO_PROCESSES = [1, 2, 4] as const;

/** What makes each I/O-bound target slow, as the rows' labels say it. */
const IO_LABEL: Record<"http" | "jetstream", string> = {
  http: "receiver answering in 20–50 ms",
  jetstream: "JetStream 20–50 ms round trip away (delaying relay)",
};

async function runIoBound(ctx: BenchContext, kind: "http" | "jetstream", jobs: number): Promise<Row[]> {
  const app = WORKER_APP[kind];
  const label = (n: number) => `Scale, ${IO_LABEL[kind]}: ${n} vs 1 ${app} processes (${IO_CONCURRENCY} in flight each)`;
  if (!appExists(app, ctx.mode)) {
    return [2, 4].map((n) => ({ case: label(n), unit: "/s", note: `Berth part missing: ${appEntry(app, ctx.mode)}`, missingPart: true }));
  }
  const target = await openTarget(kind, ctx.natsUrl, { delayMs: IO_DELAY_MS });
  const rates = new Map<number, number[]>(IO_PROCESSES.map((n) => [n, []]));
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      const order = rep % 2 === 0 ? IO_PROCESSES : [...IO_PROCESSES].reverse();
      for (const processes of order) {
        progress(`scale ${kind} I/O-bound: rep ${rep + 1}/${ctx.reps} ${processes} process(es) (${jobs} jobs)`);
        const opts = { ctx, target, side: "berth" as const, concurrency: IO_CONCURRENCY, processes };
        rates.get(processes)!.push((await deliveryRun(opts, jobs)).rate);
      }
    }
  } finally {
    await target.close();
  }
  const one = rates.get(1)!;
  return [
    { n: 2, goal: 1.8 },
    { n: 4, goal: 3.2 },
  ].map(({ n, goal }) => ({
    case: label(n),
    unit: "/s",
    berth: summarize(rates.get(n)!),
    baseline: summarize(one),
    ratio: summarize(pairedRatios(rates.get(n)!, one)),
    goal: { kind: "ratio-at-least" as const, value: goal },
    ...(kind === "jetstream" ? { note: JETSTREAM_IO_NOTE } : {}),
  }));
}

const JETSTREAM_IO_NOTE =
  "loopback JetStream acks in ~0.1 ms; here the workers reach it through a TCP relay holding each chunk 10–25 ms each way, " +
  "in order (a stream in another zone); a job completes on its ack";

async function run(ctx: BenchContext): Promise<Row[]> {
  const jobs = ctx.quick ? 1500 : 4000;
  const rows: Row[] = [];
  for (const kind of KINDS) rows.push(await runKind(ctx, kind, jobs));
  for (const kind of ["http", "jetstream"] as const) rows.push(...(await runIoBound(ctx, kind, ctx.quick ? 1000 : 3000)));
  return rows;
}

export const scale: BenchCase = {
  id: "scale",
  title: "Delivery rate with 1, 2 and 4 worker processes",
  method:
    "As the delivery case, with Berth's worker app only: two processes (Berth column) vs one (baseline column), concurrency 16 each; " +
    "both processes are registered on the queue before it is resumed. HTTP and NATS core. " +
    `Then an I/O-bound webhook (answers after a uniform 20–50 ms): 2 and 4 worker-http processes vs 1, ${IO_CONCURRENCY} in flight per process, ` +
    "all three measured in each repetition (order reversed every other one); ratios are per repetition. " +
    "The same with worker-nats publishing to a JetStream stream reached through a delaying TCP relay (20–50 ms round trip).",
  run,
};

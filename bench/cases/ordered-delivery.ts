/**
 * Ordered delivery's cost: the delivery rate of a sink with `ordering: repository` vs the same
 * sink unordered, events spread over 50 repositories, one worker-http process (concurrency 16),
 * interleaved repetitions. Both sides' jobs are written by the registry's outbox (openOutbox, the
 * add-jobs script: sequences, and the ordered side's pending sets) into the paused sink queue;
 * the run starts when the queue is resumed. Goal (issue 17): ≥ 0.7×.
 */
import type { BerthEvent } from "@berth/events";
import { openOutbox } from "@berth/outbox";
import { Registry, silentLogger } from "@berth/telemetry";
import { ArrivalLog } from "../lib/arrival-log.js";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { makeEvents, openSinkQueue } from "../lib/delivery-jobs.js";
import { CONCURRENCY, type DeliverersOptions, startDeliverers } from "../lib/delivery-run.js";
import { WORKER_APP, openTarget } from "../lib/delivery-targets.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const REPOSITORIES = 50;

function spreadEvents(n: number): BerthEvent[] {
  return makeEvents(n, "bench/ordered").map((e, i) => ({ ...e, data: { ...e.data, name: `bench/ordered-${i % REPOSITORIES}` } }));
}

/** One side: start the worker, enqueue through the outbox into the paused queue, resume, measure. */
async function run(o: DeliverersOptions, jobs: number): Promise<number> {
  const d = await startDeliverers(o);
  const q = openSinkQueue(o.ctx.redisUrl, d.prefix, d.sink);
  const outbox = await openOutbox({ config: d.config, logger: silentLogger(), metrics: new Registry() });
  try {
    const events = spreadEvents(jobs);
    const log = new ArrivalLog(new Set(events.map((e) => e.id)));
    await q.queue.pause();
    for (let i = 0; i < events.length; i += 200) await outbox.publish(events.slice(i, i + 200));
    o.target.receiver.log = log;
    await q.queue.resume();
    try {
      await log.waitAll(`${o.ordering ?? "none"} delivery`, d.procs, 60_000 + jobs * 5);
    } finally {
      o.target.receiver.log = undefined;
    }
    return log.steadyRate();
  } finally {
    await outbox.close();
    await q.close();
    await d.stop();
  }
}

async function runCase(ctx: BenchContext): Promise<Row[]> {
  const label = `Ordered sink (${REPOSITORIES} repositories) vs unordered: delivery rate, ${WORKER_APP.http}`;
  if (!appExists(WORKER_APP.http, ctx.mode)) {
    return [{ case: label, unit: "/s", note: `Berth part missing: ${appEntry(WORKER_APP.http, ctx.mode)}`, missingPart: true }];
  }
  const jobs = ctx.quick ? 1500 : 4000;
  const target = await openTarget("http", ctx.natsUrl);
  const ordered: number[] = [];
  const unordered: number[] = [];
  try {
    for (let rep = 0; rep < ctx.reps; rep++) {
      const opts = { ctx, target, side: "berth" as const, processes: 1, concurrency: CONCURRENCY };
      await interleaved(
        rep,
        async () => {
          progress(`ordered: rep ${rep + 1}/${ctx.reps} ordering repository (${jobs} jobs)`);
          ordered.push(await run({ ...opts, ordering: "repository" }, jobs));
        },
        async () => {
          progress(`ordered: rep ${rep + 1}/${ctx.reps} unordered (${jobs} jobs)`);
          unordered.push(await run(opts, jobs));
        },
      );
    }
  } finally {
    await target.close();
  }
  return [
    {
      case: label,
      unit: "/s",
      berth: summarize(ordered),
      baseline: summarize(unordered),
      ratio: summarize(pairedRatios(ordered, unordered)),
      goal: { kind: "ratio-at-least", value: 0.7 },
    },
  ];
}

export const orderedDelivery: BenchCase = {
  id: "ordered",
  title: "Ordered vs unordered delivery",
  method:
    `One worker-http process (concurrency 16), ${REPOSITORIES} repositories, jobs written by the registry's outbox ` +
    "(sequences; pending sets on the ordered side) into the paused queue, then resumed: `ordering: repository` " +
    "(Berth column) vs the same sink without it (baseline column), interleaved repetitions, steady-state rate.",
  run: runCase,
};

/**
 * Case — what one delivered event costs the delivering process, in counts that do not depend on
 * the machine's load: garbage collections and bytes allocated (V8's --trace-gc-nvp), and Redis
 * commands (MONITOR on a redis-server this case starts, so no one else's commands are counted).
 * Berth's worker-http vs the bare BullMQ + got worker, in two load-independent regimes:
 *  - one at a time: each event is sent once the previous one arrived, so every event takes the
 *    worker's idle path (wake on the queue's marker, fetch, deliver, complete), as at 100–500/s
 *    on a quiet machine (a paced run's counts change with the load: bursts skip the idle path);
 *  - backlog: jobs pre-enqueued into the paused queue, then resumed (each completion fetches the
 *    next job), as near saturation.
 * These are the causes of a latency tail that timed runs on a shared machine cannot separate from
 * noise (issue 22).
 */
import { startRedisServer } from "@berth/testing";
import { ArrivalLog } from "../lib/arrival-log.js";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { CONCURRENCY, type Deliverers, type DeliverySide, startDeliverers } from "../lib/delivery-run.js";
import { enqueuePaused, makeEvents, openSinkQueue } from "../lib/delivery-jobs.js";
import { type OpenTarget, WORKER_APP, openTarget } from "../lib/delivery-targets.js";
import { GC_TRACE_FLAGS, GcTrace } from "../lib/gc-trace.js";
import { type Producer, openProducer } from "../lib/paced-events.js";
import { progress } from "../lib/progress.js";
import { type CommandCounts, RedisCommandCounter } from "../lib/redis-commands.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import { assertAlive } from "../lib/spawn-app.js";

type Regime = "one at a time" | "backlog";
const WARMUP_EVENTS = 500;

interface Costs {
  allocatedBytesPerEvent: number;
  scavengesPer10k: number;
  markCompactsPer10k: number;
  workerCommandsPerEvent: number;
  scriptCommandsPerEvent: number;
}

/** Each event sent when the previous one has arrived: the idle path, every time. */
async function oneAtATime(d: Deliverers, producer: Producer, target: OpenTarget, count: number): Promise<void> {
  const events = makeEvents(count, "bench/costs");
  const log = new ArrivalLog(new Set(events.map((e) => e.id)));
  target.receiver.log = log;
  try {
    for (const event of events) {
      const arrived = log.nextArrival();
      await producer.send({ ...event, time: new Date().toISOString() });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`event ${event.id} did not arrive within 30 s`)), 30_000);
      });
      await Promise.race([arrived, late]).finally(() => clearTimeout(timer));
      for (const p of d.procs) assertAlive(p);
    }
  } finally {
    target.receiver.log = undefined;
  }
}

/** Jobs pre-enqueued into the paused queue, then resumed: every completion fetches the next. */
async function backlog(d: Deliverers, redisUrl: string, target: OpenTarget, count: number, counting: () => Promise<void>): Promise<void> {
  const events = makeEvents(count, "bench/costs");
  const log = new ArrivalLog(new Set(events.map((e) => e.id)));
  const q = openSinkQueue(redisUrl, d.prefix, d.sink);
  try {
    await enqueuePaused(q, d.sink, events);
    target.receiver.log = log;
    await counting();
    await q.queue.resume();
    await log.waitAll("backlog", d.procs, 60_000 + count * 5);
  } finally {
    target.receiver.log = undefined;
    await q.close();
  }
}

function costsOf(gc: ReturnType<GcTrace["stop"]>, c: CommandCounts, pid: number, events: number): Costs {
  return {
    allocatedBytesPerEvent: gc.allocatedBytes / events,
    scavengesPer10k: (gc.scavenges * 10_000) / events,
    markCompactsPer10k: (gc.markCompacts * 10_000) / events,
    workerCommandsPerEvent: (c.byPid.get(pid) ?? 0) / events,
    scriptCommandsPerEvent: c.insideScripts / events,
  };
}

async function measureSide(
  ctx: BenchContext,
  redisUrl: string,
  side: DeliverySide,
  target: OpenTarget,
  counts: Record<Regime, number>,
): Promise<Record<Regime, Costs>> {
  const d = await startDeliverers({ ctx: { ...ctx, redisUrl }, side, target, processes: 1, concurrency: CONCURRENCY, nodeFlags: GC_TRACE_FLAGS });
  const pid = d.procs[0]!.pid;
  const gc = new GcTrace(d.procs[0]!);
  const commands = new RedisCommandCounter(redisUrl);
  const detail = (regime: Regime, g: ReturnType<GcTrace["stop"]>, c: CommandCounts) => {
    if (!process.env.BENCH_COSTS_DETAIL) return;
    const names = Object.fromEntries(c.byName);
    process.stderr.write(`${side} ${regime}: ${JSON.stringify({ gc: g, commands: names, insideScripts: c.insideScripts })}\n`);
  };
  try {
    const producer = await openProducer(side, d, redisUrl);
    const out = {} as Record<Regime, Costs>;
    try {
      await oneAtATime(d, producer, target, WARMUP_EVENTS);
      await commands.start();
      gc.start();
      await oneAtATime(d, producer, target, counts["one at a time"]);
      const g = gc.stop();
      const c = await commands.stop();
      detail("one at a time", g, c);
      out["one at a time"] = costsOf(g, c, pid, counts["one at a time"]);
    } finally {
      await producer.close();
    }
    await backlog(d, redisUrl, target, counts.backlog, async () => {
      await commands.start();
      gc.start();
    });
    const g = gc.stop();
    const c = await commands.stop();
    detail("backlog", g, c);
    out.backlog = costsOf(g, c, pid, counts.backlog);
    return out;
  } finally {
    await d.stop();
  }
}

const ROWS: { key: keyof Costs; label: string; unit: string }[] = [
  { key: "allocatedBytesPerEvent", label: "bytes allocated by the worker per event", unit: "B" },
  { key: "scavengesPer10k", label: "worker scavenges (minor GCs) per 10,000 events", unit: "" },
  { key: "markCompactsPer10k", label: "worker mark-compacts (major GCs) per 10,000 events", unit: "" },
  { key: "workerCommandsPerEvent", label: "Redis commands (round trips) of the worker per event", unit: "" },
  { key: "scriptCommandsPerEvent", label: "Redis commands run inside scripts per event", unit: "" },
];

async function run(ctx: BenchContext): Promise<Row[]> {
  const counts: Record<Regime, number> = ctx.quick ? { "one at a time": 2_000, backlog: 5_000 } : { "one at a time": 3_000, backlog: 6_000 };
  const haveBerth = appExists(WORKER_APP.http, ctx.mode);
  const redis = await startRedisServer();
  const target = await openTarget("http", ctx.natsUrl);
  // Counts hardly vary between repetitions: one pair, Berth then the bare worker.
  let berth: Record<Regime, Costs> | undefined;
  let bare: Record<Regime, Costs>;
  try {
    if (haveBerth) {
      progress(`delivery-costs: Berth worker-http, ${counts["one at a time"]} events one at a time, ${counts.backlog} from a backlog`);
      berth = await measureSide(ctx, redis.url, "berth", target, counts);
    }
    progress("delivery-costs: bare worker, the same");
    bare = await measureSide(ctx, redis.url, "bare", target, counts);
  } finally {
    await target.close();
    await redis.destroy();
  }
  return (["one at a time", "backlog"] as const).flatMap((regime) =>
    ROWS.map(({ key, label, unit }): Row => {
      const base = [bare[regime][key]];
      const b = berth ? [berth[regime][key]] : [];
      return {
        case: `Delivery costs, HTTP sink, events ${regime === "backlog" ? "from a backlog" : "one at a time"}: ${label} (lower is better)`,
        unit,
        baseline: summarize(base),
        ...(berth
          ? { berth: summarize(b), ratio: summarize(pairedRatios(b, base)) }
          : { note: `Berth part missing: ${appEntry(WORKER_APP.http, ctx.mode)}`, missingPart: true }),
      };
    }),
  );
}

export const deliveryCosts: BenchCase = {
  id: "delivery-costs",
  title: "Delivery costs per event (GC, allocation, Redis commands), HTTP sink",
  method:
    "Counts, not timings, so independent of the machine's load: Berth's worker-http vs the bare worker, on a redis-server started for " +
    "the case. One at a time: 500 warm-up events, then 3,000 each sent (outbox / Queue.add, as in the latency case) once the previous " +
    "one arrived, so every event takes the worker's idle path. Backlog: 6,000 jobs pre-enqueued in the paused queue, then resumed. " +
    "GCs and bytes allocated: the worker's --trace-gc-nvp lines (allocated= summed over the window). Redis commands: MONITOR on the " +
    "case's server, top-level commands attributed to the worker by its sockets (ss); commands inside scripts counted apart (producer " +
    "and worker together in the one-at-a-time regime).",
  run,
};

/**
 * Case — recovery: how long a backlog held in backoff takes to arrive once its receiver is back.
 * 1,000 events meet a receiver answering 503 with `Retry-After: 3600`: those tried are held for an
 * hour, the rest wait behind the breaker it opens. The receiver comes back, and the time to the
 * last arrival is measured.
 * Baseline: the same worker draining the same 1,000 events, enqueued while the receiver is up.
 */
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { ArrivalLog } from "../lib/arrival-log.js";
import { makeEvents, openSinkQueue, enqueuePaused } from "../lib/delivery-jobs.js";
import { CONCURRENCY, type DeliverersOptions, startDeliverers } from "../lib/delivery-run.js";
import { startHttpReceiver } from "../lib/http-receiver.js";
import { progress } from "../lib/progress.js";
import { appEntry, appExists } from "../lib/spawn-app.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";
import { waitWhileAlive } from "../lib/wait-http.js";

/** The quick start's breaker (packages/config/examples/local-stack.json): recovery waits out at most one cool-down. */
const BREAKER = { threshold: 10, cooldown: "2s" };

/** Seconds from the receiver's return (or the queue's resume) to the last of `jobs` arrivals. */
async function drainSeconds(ctx: BenchContext, jobs: number, outage: boolean): Promise<number> {
  const receiver = await startHttpReceiver();
  const target = { kind: "http" as const, receiver, address: receiver.url };
  const options: DeliverersOptions = { ctx, side: "berth", target, processes: 1, concurrency: CONCURRENCY, breaker: BREAKER };
  const d = await startDeliverers(options);
  const q = openSinkQueue(ctx.redisUrl, d.prefix, d.sink);
  try {
    const events = makeEvents(jobs, "bench/recovery");
    const log = new ArrivalLog(new Set(events.map((e) => e.id)));
    receiver.log = log;
    if (outage) receiver.unavailable = { retryAfterS: 3600 };
    await enqueuePaused(q, d.sink, events);
    await q.queue.resume();
    if (outage) {
      // Held: failed once and waiting out its backoff, or never tried because the breaker opened
      // and paused the queue (what the default threshold does to most of a backlog).
      await waitWhileAlive(`${jobs} events held`, d.procs, async () => {
        // A paused queue's jobs count as waiting.
        const c = await q.queue.getJobCounts("waiting", "prioritized", "delayed", "active");
        const held = (c["waiting"] ?? 0) + (c["prioritized"] ?? 0) + (c["delayed"] ?? 0);
        return c["active"] === 0 && (c["delayed"] ?? 0) > 0 && held === jobs;
      }, 120_000);
      receiver.unavailable = undefined;
    }
    const from = performance.now();
    await log.waitAll(outage ? "backlog after recovery" : "fresh backlog", d.procs, 120_000);
    return (Math.max(...log.arrivals.values()) - from) / 1000;
  } finally {
    receiver.log = undefined;
    await q.close();
    await d.stop();
    await receiver.close();
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const label = "Recovery: 1,000-event backlog held in backoff, drained after the receiver returns";
  if (!appExists("worker-http", ctx.mode)) {
    return [{ case: label, unit: "s", note: `Berth part missing: ${appEntry("worker-http", ctx.mode)}`, missingPart: true }];
  }
  const jobs = 1000;
  const held: number[] = [];
  const fresh: number[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    await interleaved(
      rep,
      async () => {
        progress(`recovery: rep ${rep + 1}/${ctx.reps} held backlog (${jobs} events)`);
        held.push(await drainSeconds(ctx, jobs, true));
      },
      async () => {
        progress(`recovery: rep ${rep + 1}/${ctx.reps} fresh backlog (${jobs} events)`);
        fresh.push(await drainSeconds(ctx, jobs, false));
      },
    );
  }
  return [
    {
      case: label,
      unit: "s",
      berth: summarize(held),
      baseline: summarize(fresh),
      ratio: summarize(pairedRatios(held, fresh)),
      goal: { kind: "berth-below", value: 5, unit: "s" },
    },
  ];
}

export const recovery: BenchCase = {
  id: "recovery",
  title: "Time to drain a held backlog after the receiver returns",
  method:
    "One worker-http process (concurrency 16, breaker threshold 10, cool-down 2 s as in the quick start's config); 1,000 events against a receiver " +
    "answering 503 with Retry-After: 3600 until every event is held (those tried wait an hour in backoff, the rest behind the open breaker), then " +
    "the receiver answers 204: seconds from that switch to the last arrival (Berth column). The Retry-After also holds the recovery probe off, so the return is noticed by the breaker's half-open step. Baseline: the same worker draining 1,000 fresh events from the moment the queue is resumed. Recovery takes at most " +
    "one breaker cool-down, then the drain.",
  run,
};

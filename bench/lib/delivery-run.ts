/**
 * One delivery run: N jobs pre-enqueued into a paused sink queue, K delivering processes (Berth's
 * worker app or the bare baseline worker) started and registered, then the queue is resumed and
 * the run lasts until the receiver has seen every event; the rate is taken between the 10th and the
 * 90th percentile arrivals (the steady state, without start-up and drain).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BerthConfig, SinkConfig } from "@berth/config";
import { sinkQueueName } from "@berth/queue";
import { uniqueName } from "@berth/testing";
import { ArrivalLog, type Receiver } from "./arrival-log.js";
import type { BenchContext } from "./bench-case.js";
import { type BenchConfigOptions, type BenchSink, writeBerthConfig } from "./berth-config.js";
import { enqueuePaused, makeEvents, openSinkQueue, resolvedConfig, workersOnQueue } from "./delivery-jobs.js";
import { cpuMs, rssMb, sampleMaxRss } from "./proc-status.js";
import { deleteKeysByPrefix } from "./redis-keys.js";
import { type Spawned, spawnBenchScript, spawnBerthApp } from "./spawn-app.js";
import { waitWhileAlive } from "./wait-http.js";

export type DeliveryKind = "http" | "nats" | "jetstream";
export type DeliverySide = "berth" | "bare";

export interface DeliveryTarget {
  kind: DeliveryKind;
  receiver: Receiver;
  /** HTTP receiver URL or NATS server URL. */
  address: string;
  subject?: string;
}

export const SINK_NAME = "bench";
/** Jobs in flight per delivering process, Berth and baseline alike. */
export const CONCURRENCY = 16;
export const BARE_WORKER = "lib/baselines/bare-worker";

export function benchSink(
  target: Pick<DeliveryTarget, "kind" | "address" | "subject">,
  concurrency: number,
  name = SINK_NAME,
  ordering?: BenchSink["ordering"],
): BenchSink {
  return {
    name,
    ...(ordering ? { ordering } : {}),
    type: target.kind === "http" ? "http" : "nats",
    address: target.address,
    concurrency,
    ...(target.subject ? { channel: target.subject } : {}),
    ...(target.kind === "jetstream" ? { jetstream: true } : {}),
  };
}

/** The delivering processes of one side, started and registered on the sink queue. */
export interface Deliverers {
  procs: Spawned[];
  /** The resolved config the processes run with (the outbox of the latency case uses it too). */
  config: BerthConfig;
  sink: SinkConfig;
  prefix: string;
  stop(): Promise<void>;
}

export interface DeliverersOptions {
  ctx: BenchContext;
  side: DeliverySide;
  target: DeliveryTarget;
  processes: number;
  concurrency: number;
  /** Overrides of the sink's `breaker` block in the config file. */
  breaker?: Record<string, unknown>;
  /** The sink's `ordering` (default none). */
  ordering?: BenchSink["ordering"];
  /** Node options for the delivering processes (both sides alike), e.g. `--trace-gc-nvp`. */
  nodeFlags?: readonly string[];
}

export async function startDeliverers(o: DeliverersOptions): Promise<Deliverers> {
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-delivery-"));
  const prefix = uniqueName("berth-bench");
  const configOptions: BenchConfigOptions = {
    dir,
    redisUrl: o.ctx.redisUrl,
    prefix,
    events: true,
    sinks: [{ ...benchSink(o.target, o.concurrency, SINK_NAME, o.ordering), ...(o.breaker ? { breaker: o.breaker } : {}) }],
  };
  const config = resolvedConfig(configOptions);
  const sink = config.extensions.events.sinks[0]!;
  const procs: Spawned[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await deleteKeysByPrefix(o.ctx.redisUrl, prefix);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const configPath = await writeBerthConfig(configOptions);
    for (let i = 0; i < o.processes; i++) {
      if (o.side === "berth") {
        const app = o.target.kind === "http" ? "worker-http" : "worker-nats";
        procs.push(spawnBerthApp(app, configPath, o.ctx.mode, `${app}#${i + 1}`, { nodeFlags: o.nodeFlags }));
      } else {
        const args = [
          "--mode", o.target.kind, "--redis", o.ctx.redisUrl, "--prefix", prefix, "--queue", sinkQueueName(sink),
          "--concurrency", String(o.concurrency), "--target", o.target.address,
          ...(o.target.subject ? ["--subject", o.target.subject] : []),
        ];
        procs.push(spawnBenchScript(`bare-worker-${o.target.kind}#${i + 1}`, BARE_WORKER, args, o.ctx.mode, o.nodeFlags));
      }
    }
    const q = openSinkQueue(o.ctx.redisUrl, prefix, sink);
    try {
      await waitWhileAlive(`${o.processes} ${o.side} worker(s) on ${sinkQueueName(sink)}`, procs, async () =>
        (await workersOnQueue(q)) >= o.processes,
      );
    } finally {
      await q.close();
    }
    return { procs, config, sink, prefix, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface DeliveryRunResult {
  /** Events per second between the 10th and 90th percentile arrivals (see ArrivalLog.steadyRate). */
  rate: number;
  /** RSS of each delivering process just before the run, and its maximum during it. */
  idleRssMb: number[];
  loadRssMb: number[];
  /** CPU time of the delivering processes per delivered event, in ms. */
  cpuMsPerEvent: number;
  duplicates: number;
}

/** Delivers `jobs` events through already-started deliverers. */
export async function measureDelivery(d: Deliverers, o: DeliverersOptions, jobs: number): Promise<DeliveryRunResult> {
  const events = makeEvents(jobs, "bench/delivery");
  const log = new ArrivalLog(new Set(events.map((e) => e.id)));
  const q = openSinkQueue(o.ctx.redisUrl, d.prefix, d.sink);
  try {
    await enqueuePaused(q, d.sink, events);
    const idleRssMb = d.procs.map((p) => rssMb(p.pid));
    const sampler = sampleMaxRss(d.procs.map((p) => p.pid));
    const cpuTotal = () => d.procs.reduce((sum, p) => sum + cpuMs(p.pid), 0);
    const cpuBefore = cpuTotal();
    o.target.receiver.log = log;
    await q.queue.resume();
    try {
      await log.waitAll(`${o.side} ${o.target.kind} delivery`, d.procs, 60_000 + jobs * 5);
    } finally {
      o.target.receiver.log = undefined;
    }
    const cpuMsPerEvent = (cpuTotal() - cpuBefore) / jobs;
    const loadRssMb = sampler.stop();
    return { rate: log.steadyRate(), idleRssMb, loadRssMb, cpuMsPerEvent, duplicates: log.duplicates };
  } finally {
    await q.close();
  }
}

/** Start, measure, stop: one repetition of one side. */
export async function deliveryRun(o: DeliverersOptions, jobs: number): Promise<DeliveryRunResult> {
  const d = await startDeliverers(o);
  try {
    return await measureDelivery(d, o, jobs);
  } finally {
    await d.stop();
  }
}

/**
 * The delivery runtime of one worker process: one BullMQ Worker per sink of the process's type,
 * all on one consumer Redis connection (commands wait for Redis forever, so an outage pauses
 * delivery instead of failing it).
 */
import type { BerthConfig, SinkConfig, SinkType } from "@berth/config";
import { consumerConnection, getSinkStatus, watchRedisPersistence } from "@berth/queue";
import type { Health, Logger, Registry } from "@berth/telemetry";
import { createDeliveryMetrics } from "./delivery-metrics.js";
import { SinkRunner } from "./sink-runner.js";
import { SinkSet, type SinkSetChange } from "./sink-set.js";
import type { Sink } from "./sink.js";

export interface DeliveryRuntimeOptions {
  config: BerthConfig;
  sinkType: SinkType;
  createSink: (sink: SinkConfig) => Sink;
  logger: Logger;
  metrics: Registry;
}

export interface DeliveryRuntime {
  /** Names of the sinks this process delivers to (now: a reload changes them). */
  readonly sinks: readonly string[];
  /**
   * Hot reload: delivers to `config`'s sinks of this process's type from now on (see sink-set.ts).
   * Only the sinks change; the caller warns about anything else that differs.
   */
  applySinks(config: BerthConfig): Promise<SinkSetChange>;
  /** Ordered shutdown; in-flight attempts get `graceMs` to finish. Idempotent. */
  close(graceMs?: number): Promise<void>;
  health(): Health;
}

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** After the grace period, aborted attempts get this long to be recorded before we force-close. */
const ABORT_SETTLE_MS = 5_000;

function sleep(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

export async function startDeliveryRuntime(options: DeliveryRuntimeOptions): Promise<DeliveryRuntime> {
  const { config, sinkType, logger } = options;
  const prefix = config.queue.prefix;
  const connection = consumerConnection(config.queue.redis, `berth-worker-${sinkType}`);
  connection.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
  const persistence = watchRedisPersistence(connection, logger);
  const shutdown = new AbortController();
  const ofType = (c: BerthConfig) => c.extensions.events.sinks.filter((s) => s.type === sinkType);
  const sinks = ofType(config);
  const set = new SinkSet(options.createSink, (sink, deliverer) =>
    new SinkRunner({
      sink,
      deliverer,
      connection,
      prefix,
      logger,
      metrics,
      shutdownSignal: shutdown.signal,
      workerName: `${sinkType}-${process.pid}`,
    }),
  );
  const metrics = createDeliveryMetrics(
    options.metrics,
    () => Promise.all(set.sinks.map((s) => getSinkStatus(connection, prefix, s))),
    () => connection.status === "ready",
  );
  await set.apply(sinks);
  if (sinks.length === 0) logger.warn({ sinkType }, "no sinks of this type configured; nothing to deliver");
  else logger.info({ sinks: sinks.map((s) => s.name), sinkType }, "delivery runtime started");

  let closing: Promise<void> | undefined;
  async function close(graceMs = DEFAULT_SHUTDOWN_GRACE_MS): Promise<void> {
    // 1. Stop taking jobs and let in-flight attempts finish; BullMQ's close() waits for them
    //    (after a reload in progress, so no runner it starts is left out).
    await set.idle();
    const runners = set.runners;
    const stopping = Promise.allSettled(runners.map((r) => r.stopWorker()));
    const grace = sleep(graceMs);
    const inTime = await Promise.race([stopping.then(() => true), grace.promise.then(() => false)]);
    grace.cancel();
    if (!inTime) {
      // 2. Grace over: abort the stragglers. Their failure is recorded as transient (`shutdown`),
      //    so BullMQ schedules a retry; if even that cannot reach Redis, force-close and leave
      //    them to stalled-job recovery by another worker (their locks expire).
      logger.warn({ graceMs }, "shutdown grace period over; aborting in-flight deliveries");
      shutdown.abort(new Error("worker shutting down"));
      const settle = sleep(ABORT_SETTLE_MS);
      const settled = await Promise.race([stopping.then(() => true), settle.promise.then(() => false)]);
      settle.cancel();
      if (!settled) await Promise.allSettled(runners.map((r) => r.stopWorker(true)));
    }
    // 3. Dead-letter moves started by the last failures, then the queue handles.
    await Promise.allSettled(runners.map((r) => r.closeQueues()));
    // 4. The sinks (HTTP agents, NATS connections: drained by the sink's close()).
    await Promise.allSettled(set.deliverers.map((d) => d.close()));
    // 5. Redis last: everything above may still have needed it.
    persistence.stop();
    await connection.quit().catch(() => connection.disconnect());
    logger.info("delivery runtime closed");
  }

  return {
    get sinks() {
      return set.sinks.map((s) => s.name);
    },
    async applySinks(next) {
      if (closing) return { added: [], removed: [], changed: [] };
      return set.apply(ofType(next));
    },
    close(graceMs) {
      closing ??= close(graceMs);
      return closing;
    },
    health() {
      const workers = set.runners.map((r) => r.health());
      const redis = connection.status;
      const ok = closing === undefined && redis === "ready" && workers.every((w) => w.running);
      const redisPersistence = persistence.current();
      return { ok, redis, closing: closing !== undefined, workers, ...(redisPersistence ? { redisPersistence } : {}) };
    },
  };
}

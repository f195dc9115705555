/**
 * What makes a sink's backlog flow the moment its destination is back, instead of at each held
 * job's next backoff (up to `retry.maxDelay` later):
 * - a success that ends a failure streak promotes the sink's delayed retries. The streak's end is
 *   learnt by exactly one process (closeBreaker clears the shared count in one transaction), so
 *   the promotion runs once whatever the number of workers;
 * - while the sink is failing and everything it holds is delayed (and not due within two
 *   intervals), nothing would test the destination before the next backoff ends, so one process
 *   per interval (claimSinkProbe) probes it with the due-soonest held event, delivered outside the queue: a probe costs that job no
 *   attempt, so probing never shortens the retry budget. A failed probe counts as a failure for
 *   the breaker (an open breaker stops the probes until its cool-down ends), and a `Retry-After`
 *   from the destination holds every probe off for as long; a delivered one removes the job it
 *   stood for and promotes the rest.
 */
import type { SinkConfig } from "@berth/config";
import { type DeliveryJobData, breakerState, claimSinkProbe, holdSinkProbe, sinkFailureCount } from "@berth/queue";
import type { Logger } from "@berth/telemetry";
import type { Job, Queue } from "bullmq";
import type { RedisConnection } from "@berth/queue";
import { type AttemptFailure, classifyFailure } from "./attempt-failure.js";
import { AttemptSignal } from "./attempt-signal.js";
import type { SinkBreaker } from "./circuit-breaker.js";
import type { DeliveryMetrics } from "./delivery-metrics.js";
import type { Sink } from "./sink.js";

export interface SinkRecoveryOptions {
  sink: SinkConfig;
  deliverer: Sink;
  connection: RedisConnection;
  prefix: string;
  queue: Queue<DeliveryJobData>;
  breaker: SinkBreaker;
  logger: Logger;
  metrics: DeliveryMetrics;
}

/** How often each process looks for a failing sink with nothing but delayed jobs. */
export function probeIntervalMs(sink: SinkConfig): number {
  return Math.max(50, Math.min(1_000, Math.floor(sink.breaker.cooldownMs / 4)));
}

export class SinkRecovery {
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(private readonly o: SinkRecoveryOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.probe(), probeIntervalMs(this.o.sink));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Every failed attempt: a `Retry-After` holds the probes off for as long (all processes). */
  async failed(failure: AttemptFailure): Promise<void> {
    if (failure.retryAfterMs === undefined || failure.retryAfterMs <= 0) return;
    await holdSinkProbe(this.o.connection, this.o.prefix, this.o.sink, failure.retryAfterMs);
  }

  /** A success ended a streak of `failures`: the retries held in backoff run now. */
  async promoteHeld(failures: number): Promise<void> {
    const { queue, logger, sink } = this.o;
    try {
      const held = await queue.getDelayedCount();
      if (held > 0) await queue.promoteJobs();
      logger.info({ sink: sink.name, failures, promoted: held }, "sink recovered: delayed retries promoted");
    } catch (err) {
      logger.warn({ sink: sink.name, err }, "could not promote delayed retries; they run at their backoff");
    }
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const job = await this.heldJobToProbe();
      if (job) await this.probeWith(job);
    } catch (err) {
      this.o.logger.warn({ sink: this.o.sink.name, err }, "recovery probe did not finish");
    } finally {
      this.probing = false;
    }
  }

  /** The due-soonest delayed job, when the sink is failing, not held open, and nothing else runs. */
  private async heldJobToProbe(): Promise<Job<DeliveryJobData> | undefined> {
    const { connection: conn, prefix, sink, queue } = this.o;
    // An ordered sink's jobs go through its ordered gate: a probe outside the queue could deliver
    // a repository's later event first. Its held retries are still promoted on recovery.
    if (sink.ordering === "repository") return undefined;
    // The common case (a healthy sink) costs one read per interval.
    if ((await sinkFailureCount(conn, prefix, sink)) === 0) return undefined;
    if ((await breakerState(conn, prefix, sink)) === "open") return undefined;
    if (!(await claimSinkProbe(conn, prefix, sink, probeIntervalMs(sink)))) return undefined;
    const [counts, paused] = await Promise.all([
      queue.getJobCounts("waiting", "prioritized", "active", "delayed"),
      queue.isPaused(),
    ]);
    const running = (counts["waiting"] ?? 0) + (counts["prioritized"] ?? 0) + (counts["active"] ?? 0);
    // Paused by an operator or a 410: not ours to test. Jobs running: they are the probe.
    if (paused || running > 0 || (counts["delayed"] ?? 0) === 0) return undefined;
    const [job] = await queue.getDelayed(0, 0);
    // A retry due within a couple of intervals runs soon anyway: probing it would only race it.
    // (BullMQ keeps the retry's delay on the job; the attempt that failed started at processedOn.)
    const due = (job?.processedOn ?? job?.timestamp ?? 0) + (job?.delay ?? 0);
    if (!job || due - Date.now() < 2 * probeIntervalMs(sink)) return undefined;
    return job;
  }

  private async probeWith(job: Job<DeliveryJobData>): Promise<void> {
    const { sink, deliverer, breaker, logger, metrics } = this.o;
    const scope = new AttemptSignal({ timeoutMs: sink.timeoutMs });
    try {
      const options = { signal: scope.signal, attempt: job.attemptsMade + 1, signalTimeoutMs: sink.timeoutMs, callerSettlesOnAbort: true };
      await scope.run(deliverer.deliver(job.data.event, options));
    } catch (err) {
      const failure = classifyFailure(err, scope.cause);
      logger.debug({ sink: sink.name, eventId: job.data.event.id, reason: failure.reason }, `recovery probe failed: ${failure.message}`);
      await this.failed(failure);
      await breaker.onFailure(failure);
      return;
    } finally {
      scope.dispose();
    }
    metrics.delivered.inc({ sink: sink.name });
    // Delivered: its queued copy is redundant. A worker that took it meanwhile delivers it again,
    // which at-least-once allows (the event keeps its id).
    await job.remove().catch(() => {});
    const failures = await breaker.onSuccess(true);
    if (failures > 0) await this.promoteHeld(failures);
  }
}

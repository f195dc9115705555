/**
 * Everything one sink needs inside a worker process: its BullMQ Worker, the attempt processor
 * (timeout, classification, job log, metrics), its breaker and its dead-letter mover.
 */
import type { SinkConfig } from "@berth/config";
import {
  type DeadLetterJobData,
  type DeliveryJobData,
  deadLetterQueueName,
  pauseSink,
  sinkQueueName,
} from "@berth/queue";
import type { Logger } from "@berth/telemetry";
import { DelayedError, type Job, Queue, Worker } from "bullmq";
import type { RedisConnection } from "@berth/queue";
import {
  type AttemptFailure,
  PermanentJobFailure,
  classifyFailure,
  failureOfJobError,
  transientJobError,
} from "./attempt-failure.js";
import { AttemptSignal, SignalPool } from "./attempt-signal.js";
import { SinkBreaker } from "./circuit-breaker.js";
import { moveToDeadLetters, sweepFailedJobs } from "./dead-letter.js";
import type { DeliveryMetrics } from "./delivery-metrics.js";
import { FailureLog } from "./failure-log.js";
import { OrderedGate } from "./ordered-gate.js";
import { createBackoffStrategy } from "./retry-policy.js";
import { SinkRecovery } from "./sink-recovery.js";
import type { Sink } from "./sink.js";

/**
 * Lock and stall settings. A SIGKILLed worker's jobs keep their lock until it expires
 * (LOCK_DURATION_MS), then the next stalled check of any live worker (every STALLED_INTERVAL_MS)
 * puts them back in the queue: recovery within ~15 s. Live workers renew locks every 5 s.
 * MAX_STALLED_COUNT is high so that repeated crashes do not fail an event; a job that stalls more
 * often than that is failed by BullMQ and then dead-lettered by the sweep (never lost).
 */
export const LOCK_DURATION_MS = 10_000;
export const STALLED_INTERVAL_MS = 5_000;
export const MAX_STALLED_COUNT = 10;
/** How often each process looks for failed jobs that were not dead-lettered. */
const SWEEP_INTERVAL_MS = 30_000;

export interface SinkRunnerOptions {
  sink: SinkConfig;
  deliverer: Sink;
  connection: RedisConnection;
  prefix: string;
  logger: Logger;
  metrics: DeliveryMetrics;
  /** Aborted when the grace period of a shutdown ends: in-flight attempts give up. */
  shutdownSignal: AbortSignal;
  workerName: string;
  /** How often a failing sink's warn summary is logged (default 60 s). */
  failureSummaryEveryMs?: number;
}

export class SinkRunner {
  readonly worker: Worker<DeliveryJobData>;
  readonly queue: Queue<DeliveryJobData>;
  readonly deadLetters: Queue<DeadLetterJobData>;
  private readonly breaker: SinkBreaker;
  private readonly recovery: SinkRecovery;
  private readonly failureLog: FailureLog;
  /** Present when the sink has `ordering: repository` (ordered-gate.ts). */
  private readonly gate: OrderedGate | undefined;
  private readonly pendingMoves = new Set<Promise<void>>();
  /** Attempts in flight, aborted together when the shutdown grace period ends. */
  private readonly inFlight = new Set<AttemptSignal>();
  /** Signals of attempts that ended unaborted, reused by later attempts. */
  private readonly signals = new SignalPool();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Label sets of the per-attempt metrics, built once rather than per event. */
  private readonly labels: { sink: { sink: string }; delivered: { sink: string; outcome: string } };
  private lastError: string | undefined;

  constructor(private readonly o: SinkRunnerOptions) {
    const { sink, connection, prefix } = o;
    this.labels = { sink: { sink: sink.name }, delivered: { sink: sink.name, outcome: "delivered" } };
    this.queue = new Queue(sinkQueueName(sink), { connection, prefix });
    this.deadLetters = new Queue(deadLetterQueueName(sink), { connection, prefix });
    this.breaker = new SinkBreaker(connection, prefix, sink, o.logger, o.metrics);
    this.recovery = new SinkRecovery({ ...o, queue: this.queue, breaker: this.breaker });
    this.failureLog = new FailureLog(sink.name, o.logger, o.failureSummaryEveryMs);
    this.gate = sink.ordering === "repository" ? new OrderedGate(connection, prefix, sink, this.queue) : undefined;
    this.worker = new Worker<DeliveryJobData>(
      sinkQueueName(sink),
      // Two arguments at most: a processor that takes BullMQ's per-job signal makes BullMQ create
      // one for every job, and it only aborts it through `worker.cancelJob`, which Berth never calls.
      (job, token) => this.process(job, token),
      {
        connection,
        prefix,
        name: o.workerName,
        concurrency: sink.concurrency,
        lockDuration: LOCK_DURATION_MS,
        stalledInterval: STALLED_INTERVAL_MS,
        maxStalledCount: MAX_STALLED_COUNT,
        settings: { backoffStrategy: createBackoffStrategy(sink.retry) },
        autorun: false,
      },
    );
    this.worker.on("failed", (job, err) => {
      // `finishedOn` is only set when BullMQ moved the job to the failed set (no retry left).
      if (job?.finishedOn) this.track(this.deadLetter(job, failureOfJobError(err)));
    });
    const gate = this.gate;
    if (gate) {
      // Released only once BullMQ recorded the completion: a crash before that leaves the job the
      // head of its repository, so its redelivery comes before anything behind it.
      this.worker.on("completed", (job) => this.track(this.release(gate, job, true)));
    }
    this.worker.on("error", (err) => {
      this.lastError = err.message;
      o.logger.error({ sink: sink.name, err }, "worker error");
    });
    o.shutdownSignal.addEventListener(
      "abort",
      () => {
        for (const scope of this.inFlight) scope.abort("shutdown", o.shutdownSignal.reason);
      },
      { once: true },
    );
    this.worker.on("stalled", (jobId) => o.logger.warn({ sink: sink.name, jobId }, "stalled job returned to the queue"));
  }

  start(): void {
    this.breaker.start();
    this.recovery.start();
    void this.worker.run().catch((err) => this.o.logger.error({ sink: this.o.sink.name, err }, "worker stopped"));
    const sweep = () => this.track(this.sweep());
    sweep();
    this.sweepTimer = setInterval(sweep, SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  health(): { sink: string; running: boolean; lastError?: string } {
    const h: { sink: string; running: boolean; lastError?: string } = {
      sink: this.o.sink.name,
      running: this.worker.isRunning(),
    };
    if (this.lastError) h.lastError = this.lastError;
    return h;
  }

  /** Step 1 of shutdown: stop fetching and wait for in-flight attempts (BullMQ waits for them). */
  async stopWorker(force = false): Promise<void> {
    clearInterval(this.sweepTimer);
    this.breaker.stop();
    this.recovery.stop();
    await this.worker.close(force);
  }

  /** Step 2: wait for dead-letter moves started by failures, then close the queue handles. */
  async closeQueues(): Promise<void> {
    await Promise.allSettled([...this.pendingMoves]);
    await Promise.allSettled([this.queue.close(), this.deadLetters.close()]);
  }

  private track(p: Promise<void>): void {
    this.pendingMoves.add(p);
    void p.finally(() => this.pendingMoves.delete(p));
  }

  /** An ordered sink's job waits behind its repository's head; any other job is attempted. */
  private async process(job: Job<DeliveryJobData>, token: string | undefined): Promise<void> {
    if (!this.gate) return this.attempt(job, job.data.event);
    const admission = await this.gate.admit(job);
    if (admission.verdict === "deliver") return this.attempt(job, admission.event);
    this.o.metrics.heldBack.inc(this.labels.sink);
    throw await this.gate.park(job, token).catch(() => new DelayedError());
  }

  private async release(gate: OrderedGate, job: Job<DeliveryJobData>, delivered: boolean): Promise<void> {
    try {
      await gate.release(job, delivered);
    } catch (err) {
      // The next job of the repository wakes on its own when its park ends (PARK_MS).
      this.o.logger.warn({ sink: this.o.sink.name, jobId: job.id, err }, "ordered sink: could not release the repository's next event");
    }
  }

  private async attempt(job: Job<DeliveryJobData>, event: DeliveryJobData["event"]): Promise<void> {
    const { sink, deliverer, logger, metrics } = this.o;
    const attempt = job.attemptsMade + 1;
    const scope = new AttemptSignal({ timeoutMs: sink.timeoutMs, pool: this.signals });
    if (this.o.shutdownSignal.aborted) scope.abort("shutdown", this.o.shutdownSignal.reason);
    else this.inFlight.add(scope);
    const started = performance.now();
    try {
      const options = { signal: scope.signal, attempt, signalTimeoutMs: sink.timeoutMs, callerSettlesOnAbort: true };
      const receipt = await scope.run(deliverer.deliver(event, options));
      const ms = performance.now() - started;
      const labels = this.labels;
      metrics.delivered.inc(labels.sink);
      metrics.attemptDuration.observe(labels.delivered, ms / 1000);
      const eventTime = Date.parse(job.data.event.time);
      if (Number.isFinite(eventTime)) metrics.latency.observe(labels.sink, Math.max(0, Date.now() - eventTime) / 1000);
      // A job removed on completion takes its log with it: writing the line would be a Redis round
      // trip per event that nobody can ever read. Failed attempts are always logged (`failed`).
      if (job.opts.removeOnComplete !== true) {
        await job.log(`attempt ${attempt}: delivered ${receipt.detail} in ${Math.round(ms)} ms`);
      }
      this.failureLog.delivered();
      if (this.breaker.successNeedsWrite()) {
        const endedStreak = await this.breaker.onSuccess().catch((err) => {
          logger.warn({ sink: sink.name, err }, "breaker update failed");
          return 0;
        });
        if (endedStreak > 0) this.track(this.recovery.promoteHeld(endedStreak));
      }
    } catch (err) {
      const ms = performance.now() - started;
      const failure = classifyFailure(err, scope.cause);
      throw await this.failed(job, attempt, failure, ms);
    } finally {
      scope.dispose();
      this.inFlight.delete(scope);
    }
  }

  /** Records a failed attempt; returns the error to throw to BullMQ. */
  private async failed(job: Job<DeliveryJobData>, attempt: number, failure: AttemptFailure, ms: number): Promise<Error> {
    const { sink, logger, metrics, connection, prefix } = this.o;
    const maxAttempts = job.opts.attempts ?? 1;
    const final = !failure.transient || attempt >= maxAttempts;
    metrics.failed.inc({ sink: sink.name, reason: failure.reason });
    metrics.attemptDuration.observe({ sink: sink.name, outcome: "failed" }, ms / 1000);
    if (failure.transient && !final) metrics.retried.inc({ sink: sink.name });
    const verdict = !failure.transient ? "permanent" : final ? "last attempt" : "will retry";
    const line = `attempt ${attempt}: ${failure.message} in ${Math.round(ms)} ms (${verdict})`;
    await job.log(line).catch(() => {});
    logger[final ? "warn" : "debug"](
      { sink: sink.name, eventId: job.data.event.id, jobId: job.id, attempt, reason: failure.reason },
      line,
    );
    // Our own shutdown says nothing about the destination's health.
    if (failure.reason !== "shutdown") {
      if (!final) this.failureLog.failed(failure, job.data.event.id, attempt);
      await this.recovery.failed(failure).catch((err: unknown) => logger.warn({ sink: sink.name, err }, "could not record Retry-After"));
      await this.breaker.onFailure(failure).catch((err) => logger.warn({ sink: sink.name, err }, "breaker update failed"));
    }
    if (failure.pauseSink) {
      // HTTP 410 Gone: the receiver says it is gone for good; hold every event until an operator looks.
      await pauseSink(connection, prefix, sink, "gone", failure.message).catch((err) =>
        logger.error({ sink: sink.name, err }, "could not pause sink"),
      );
      logger.error({ sink: sink.name, reason: failure.reason }, "sink paused: destination is gone; resume it when fixed");
    }
    return failure.transient ? transientJobError(failure) : new PermanentJobFailure(failure);
  }

  private async deadLetter(job: Job<DeliveryJobData>, failure: AttemptFailure): Promise<void> {
    const { sink, logger, metrics } = this.o;
    try {
      const outcome = await moveToDeadLetters(job, failure, this.queue, this.deadLetters);
      metrics.deadLettered.inc({ sink: sink.name });
      // An ordered sink does not hold the repository behind a dead letter (ordered-gate.ts).
      if (this.gate) await this.release(this.gate, job, false);
      logger.warn(
        { sink: sink.name, eventId: job.data.event.id, attempts: job.attemptsMade, reason: failure.reason, outcome },
        outcome === "replaced" ? "event dead-lettered again; its earlier dead letter was replaced" : "event dead-lettered",
      );
    } catch (err) {
      // The failed job stays in the failed set; the periodic sweep retries the move.
      logger.error({ sink: sink.name, jobId: job.id, err }, "could not dead-letter; left in the failed set");
    }
  }

  private async sweep(): Promise<void> {
    try {
      const moved = await sweepFailedJobs(this.queue, this.deadLetters);
      if (moved > 0) {
        this.o.metrics.deadLettered.inc({ sink: this.o.sink.name }, moved);
        this.o.logger.warn({ sink: this.o.sink.name, moved }, "dead-lettered failed jobs left by an earlier process");
      }
    } catch (err) {
      this.o.logger.warn({ sink: this.o.sink.name, err }, "failed-job sweep did not finish");
    }
  }
}

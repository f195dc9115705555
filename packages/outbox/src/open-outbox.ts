import type { BerthConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import type { Logger, Registry } from "@berth/telemetry";
import { type RedisConnection, watchRedisPersistence } from "@berth/queue";
import type { AddPath } from "./bulk-add-paths.js";
import { createEnqueuer } from "./enqueue.js";
import { type JobRouter, type QueueBatch, createJobRouter, journalForms } from "./job-router.js";
import { journalDirectory } from "./journal.js";
import { startJournalRelay } from "./journal-relay.js";
import type { Outbox, OutboxStatus } from "./outbox.js";
import { createOutboxMetrics } from "./outbox-metrics.js";
import { createProducerConnection, isReady } from "./producer-connection.js";
import { ReplicaJournals } from "./replica-journals.js";

export const DEFAULT_ENQUEUE_TIMEOUT_MS = 250;
export const DEFAULT_JOURNAL_SEGMENT_BYTES = 8 * 1024 * 1024;
/** Start-up gives Redis this long to answer, so the first pushes usually skip the journal. */
const STARTUP_CONNECT_WAIT_MS = 500;

/** Resolves when the connection is ready or after `ms`, whichever comes first; never rejects. */
function firstConnection(redis: RedisConnection, ms: number): Promise<void> {
  if (isReady(redis)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once("ready", done);
  });
}

export interface OpenOutboxOptions {
  config: BerthConfig;
  logger: Logger;
  metrics: Registry;
  /** Clock for the publish latency histogram (ms); injected by tests. */
  now?: () => number;
  /** How long publish waits for Redis before journaling instead. */
  enqueueTimeoutMs?: number;
  journalSegmentBytes?: number;
  /** Lease of the per-replica journal directories (default 10 s); tests shorten it. */
  journalLeaseMs?: number;
  /**
   * Internal, for `pnpm bench --only outbox` (issue 15): write jobs with one of BullMQ's bulk
   * paths instead of the add-jobs script. Not a user setting.
   */
  addPath?: AddPath;
}

/** Events disabled or no sink: an outbox that accepts events and touches nothing. */
function disabledOutbox(): Outbox {
  return {
    async publish() {},
    status: () => ({ enabled: false, redisConnected: false, journalDepth: 0 }),
    applySinks: () => false,
    async close() {},
  };
}

/**
 * The registry's outbox. `publish` resolves once each event's jobs are in its sinks' queues or
 * the event is fsync'd to the local journal; it never rejects or waits long because of Redis.
 * Start-up never waits for Redis either: the relay drains what an earlier run journaled as soon
 * as Redis answers.
 */
export async function openOutbox(options: OpenOutboxOptions): Promise<Outbox> {
  const { config, logger } = options;
  const events = config.extensions.events;
  if (!events.enable || events.sinks.length === 0) return disabledOutbox();

  const now = options.now ?? (() => performance.now());
  const { durability } = config.queue;
  // With replicas to wait for, a publish may wait for the group ahead and its own WAIT.
  const waitBudgetMs = durability.minReplicas > 0 ? 2 * durability.timeoutMs : 0;
  const enqueueTimeoutMs = (options.enqueueTimeoutMs ?? DEFAULT_ENQUEUE_TIMEOUT_MS) + waitBudgetMs;
  let relayKick = (): void => {};
  // This replica's own journal directory, plus any a stopped or dead replica (or an earlier run) left.
  const journal = await ReplicaJournals.open({
    root: journalDirectory(config.storage.rootDirectory),
    maxSegmentBytes: options.journalSegmentBytes ?? DEFAULT_JOURNAL_SEGMENT_BYTES,
    logger,
    ...(options.journalLeaseMs ? { leaseMs: options.journalLeaseMs } : {}),
    onAdopted: () => relayKick(),
  });
  if (journal.depth > 0) logger.warn({ events: journal.depth }, "outbox: journal holds events from an earlier run");

  const redis = createProducerConnection(config.queue.redis, {
    // Publish is bounded by enqueueTimeoutMs; this only stops a hung command from lingering.
    commandTimeoutMs: 2_000 + durability.timeoutMs,
    connectTimeoutMs: 2_000,
    logger,
    onReady: () => relayKick(),
    onDown: () => {},
  });
  const metrics = createOutboxMetrics(options.metrics, {
    journalDepth: () => journal.depth,
    journalsAdopted: () => journal.adoptions,
    redisConnected: () => isReady(redis),
  });
  // Replaced by applySinks; the relay routes through it too, so journaled events relayed after a
  // reload go to the new sink set.
  let currentRouter = createJobRouter(events.sinks);
  const router: JobRouter = { route: (batch) => currentRouter.route(batch) };
  const enqueuer = createEnqueuer(redis, config.queue.prefix, events.log, durability, options.addPath);
  const relay = startJournalRelay({ journal, router, enqueuer, redisReady: () => isReady(redis), logger, metrics });
  relayKick = relay.kick;
  const persistence = watchRedisPersistence(redis, logger);
  await firstConnection(redis, STARTUP_CONNECT_WAIT_MS);

  async function toJournal(batch: readonly BerthEvent[], routed: readonly QueueBatch[]): Promise<"journaled"> {
    await journal.append(journalForms(batch, routed));
    metrics.journaled.inc(batch.length);
    relay.kick();
    return "journaled";
  }

  async function makeDurable(batch: readonly BerthEvent[]): Promise<string> {
    const jobs = router.route(batch);
    if (jobs.length === 0) return "unrouted";
    // Behind a non-empty journal, a new event waits its turn so each repository keeps its order.
    if (!journal.isEmpty() || !isReady(redis)) return toJournal(batch, jobs);
    try {
      await enqueuer.enqueue({ events: batch, batches: jobs }, enqueueTimeoutMs);
    } catch (err) {
      const e = err as Error;
      logger.warn({ err: { name: e.name, message: e.message } }, "outbox: enqueue failed; journaling");
      return toJournal(batch, jobs);
    }
    for (const b of jobs) metrics.enqueued.inc({ sink: b.sink }, b.jobs.length);
    return "enqueued";
  }

  let closing: Promise<void> | undefined;
  return {
    async publish(batch) {
      if (closing) throw new OutboxClosedError();
      if (batch.length === 0) return;
      const started = now();
      const outcome = await makeDurable(batch);
      // Counted once durable: a registry killed mid-publish never answered that push, so the
      // event was not emitted (the client's retry emits its own); counting earlier overstated it.
      for (const event of batch) metrics.events.inc({ type: event.type });
      metrics.publishSeconds.observe({ outcome }, (now() - started) / 1000);
    },
    applySinks(sinks) {
      currentRouter = createJobRouter(sinks);
      return true;
    },
    status(): OutboxStatus {
      const redisPersistence = persistence.current();
      return { enabled: true, redisConnected: isReady(redis), journalDepth: journal.depth, ...(redisPersistence ? { redisPersistence } : {}) };
    },
    close() {
      closing ??= (async () => {
        // Order: stop the relay, close the queues (shared connection), seal the journal, quit Redis.
        persistence.stop();
        await relay.close();
        await enqueuer.close();
        await journal.close();
        redis.disconnect();
      })();
      return closing;
    },
  };
}

export class OutboxClosedError extends Error {
  override readonly name = "OutboxClosedError";
  readonly code = "OUTBOX_CLOSED";
  constructor() {
    super("the outbox is closed");
  }
}

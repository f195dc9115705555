import type { Logger } from "@berth/telemetry";
import type { Enqueuer } from "./enqueue.js";
import type { JobRouter } from "./job-router.js";
import { readSegment } from "./journal.js";
import type { OutboxMetrics } from "./outbox-metrics.js";
import type { DrainSegment, DrainSource } from "./replica-journals.js";

export interface JournalRelayOptions {
  journal: DrainSource;
  router: JobRouter;
  enqueuer: Enqueuer;
  redisReady(): boolean;
  logger: Logger;
  metrics: OutboxMetrics;
  /** Events per round trip while draining. */
  batchSize?: number;
  /** Bound of one drain round trip. */
  enqueueTimeoutMs?: number;
  /** Poll interval while the journal is non-empty and Redis is away (a `ready` kicks sooner). */
  idlePollMs?: number;
}

export interface JournalRelay {
  /** Drain soon (Redis became ready, or an event was journaled). */
  kick(): void;
  /** Resolves when no drain is running (for tests and shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * Moves journaled events into the sink queues, oldest segment first and in order within it, in
 * batches of `batchSize` events, each one add-jobs script call (one round trip) through the
 * enqueuer. Re-adding uses the same job ids, so a batch that
 * half-landed before a failure is simply added again. A segment is deleted only when all of it
 * is in Redis; on failure the relay backs off and tries again.
 */
export function startJournalRelay(options: JournalRelayOptions): JournalRelay {
  const { journal, router, enqueuer, logger, metrics } = options;
  const batchSize = options.batchSize ?? 200;
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? 5_000;
  const idlePollMs = options.idlePollMs ?? 1_000;
  let closed = false;
  let running: Promise<void> | undefined;
  let again = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Records of a segment already enqueued, so a retry resumes instead of starting over. */
  const progress = new Map<string, number>();

  async function drainSegment({ path, release }: DrainSegment): Promise<void> {
    const { events, skipped } = await readSegment(path, logger);
    let done = progress.get(path) ?? 0;
    while (done < events.length) {
      if (closed) return;
      const chunk = events.slice(done, done + batchSize);
      const batches = router.route(chunk);
      if (batches.length > 0) await enqueuer.enqueue({ events: chunk, batches }, enqueueTimeoutMs);
      for (const b of batches) metrics.enqueued.inc({ sink: b.sink }, b.jobs.length);
      done += chunk.length;
      progress.set(path, done);
    }
    await release(events.length);
    progress.delete(path);
    logger.info({ segment: path, events: events.length, skipped }, "outbox journal: segment relayed");
  }

  async function drain(): Promise<void> {
    while (!closed && options.redisReady()) {
      const segment = await journal.nextSegmentToDrain();
      if (!segment) return;
      await drainSegment(segment);
    }
  }

  function schedule(delayMs: number): void {
    clearTimeout(timer);
    if (closed) return;
    timer = setTimeout(kick, delayMs);
    timer.unref();
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .then(() => {
        failures = 0;
      })
      .catch((err: unknown) => {
        failures += 1;
        const e = err as Error;
        logger.warn({ err: { name: e.name, message: e.message }, failures }, "outbox journal: relay failed; will retry");
      })
      .finally(() => {
        running = undefined;
        if (closed) return;
        if (again) {
          again = false;
          schedule(0);
        } else if (journal.depth > 0) {
          const backoff = failures > 0 ? Math.min(100 * 2 ** failures, MAX_BACKOFF_MS) : idlePollMs;
          schedule(backoff);
        }
      });
  }

  kick();
  return {
    kick,
    async idle() {
      while (running) await running;
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      while (running) await running;
    },
  };
}

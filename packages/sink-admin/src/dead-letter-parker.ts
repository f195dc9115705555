import type { SinkConfig } from "@berth/config";
import { type DeadLetterJobData, deadLetterQueueName } from "@berth/queue";
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { RedisConnection } from "@berth/queue";
import { isDeadLetterData } from "./dead-letters.js";

/**
 * Why this exists: the delivery worker queues a dead letter as a *waiting* job of the sink's
 * dead-letter queue, and Bull Board only offers Retry on *failed* jobs. The parker consumes each
 * dead-letter queue and fails every job at once, with the delivery's last error as the failure
 * reason — so Bull Board lists dead letters as failed jobs showing their error, and its Retry
 * button (re-wired by the dashboard to `replayDeadLetter`) moves the event back to the sink
 * queue. The parker never retries anything itself: a failed job stays failed until an operator acts.
 */
export interface DeadLetterParker {
  close(): Promise<void>;
}

export interface DeadLetterParkerOptions {
  /** A consumer connection (`maxRetriesPerRequest: null`): BullMQ Workers need one. */
  connection: RedisConnection;
  prefix: string;
  sinks: readonly SinkConfig[];
  onError?: (err: Error) => void;
}

/** The failure reason Bull Board shows for a dead letter. */
export function parkedReason(data: DeadLetterJobData): string {
  const when = typeof data.failedAt === "number" ? new Date(data.failedAt).toISOString() : "unknown time";
  const e = data.error;
  return `${e?.reason ?? "unknown"}: ${e?.message ?? "no error recorded"} (dead-lettered after ${data.attempts ?? "?"} attempt(s) at ${when})`;
}

function iso(ms: number | undefined): string {
  return typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString() : "unknown";
}

/** What Bull Board's Error tab shows instead of the parker's own (meaningless) stack. */
export function deadLetterSummary(data: DeadLetterJobData): string {
  const { event } = data;
  const ref = event.data.reference ?? event.data.digest;
  return [
    `${data.error?.name ?? "Error"}: ${data.error?.reason ?? "unknown"}: ${data.error?.message ?? "no error recorded"}`,
    `    event ${event.id} ${event.type} ${event.data.name}${ref ? `:${ref}` : ""}`,
    `    attempts ${data.attempts ?? "?"}, first queued ${iso(data.enqueuedAt)}, dead-lettered ${iso(data.failedAt)}`,
  ].join("\n");
}

function parkInto(dead: Queue<DeadLetterJobData>) {
  return async (job: Job<DeadLetterJobData>): Promise<never> => {
    if (!isDeadLetterData(job.data)) throw new UnrecoverableError("not a dead letter: data has no event");
    const summary = deadLetterSummary(job.data);
    // With no attempt history carried over, leave at least the outcome in the job's log.
    if ((await dead.getJobLogs(job.id!, 0, 0)).count === 0) await job.log(summary.replaceAll("\n    ", "; "));
    const err = new UnrecoverableError(parkedReason(job.data));
    err.stack = summary;
    throw err;
  };
}

export function startDeadLetterParker(options: DeadLetterParkerOptions): DeadLetterParker {
  const queues: Queue<DeadLetterJobData>[] = [];
  const workers = options.sinks.map((sink) => {
    const dead = new Queue<DeadLetterJobData>(deadLetterQueueName(sink), { connection: options.connection, prefix: options.prefix });
    queues.push(dead);
    const worker = new Worker<DeadLetterJobData>(dead.name, parkInto(dead), {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: 8,
      // The failed set *is* the dead-letter list: never trim it.
      removeOnFail: { count: Number.MAX_SAFE_INTEGER },
    });
    worker.on("error", (err) => options.onError?.(err));
    return worker;
  });
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}

import type { SinkConfig } from "@berth/config";
import { type DeadLetterJobData, deadLetterQueueName } from "@berth/queue";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
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
  connection: Redis;
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

async function park(job: Job<DeadLetterJobData>): Promise<never> {
  if (!isDeadLetterData(job.data)) throw new UnrecoverableError("not a dead letter: data has no event");
  throw new UnrecoverableError(parkedReason(job.data));
}

export function startDeadLetterParker(options: DeadLetterParkerOptions): DeadLetterParker {
  const workers = options.sinks.map((sink) => {
    const worker = new Worker<DeadLetterJobData>(deadLetterQueueName(sink), park, {
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
    },
  };
}

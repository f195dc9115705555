import type { BerthEvent } from "@berth/events";
import type { RedisConnection } from "@berth/queue";
import { Queue } from "bullmq";
import { type ScriptJob, addJobs, withAddJobs } from "./add-jobs-script.js";
import { createGroupCommit } from "./group-commit.js";
import type { QueueBatch } from "./job-router.js";

export class EnqueueTimeoutError extends Error {
  override readonly name = "EnqueueTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`enqueue did not complete within ${timeoutMs} ms`);
  }
}

export interface Enqueuer {
  /**
   * Adds every job of every batch as a standard BullMQ job (add-jobs-script.ts), in one script
   * call for all queues and for the publishes gathered while the previous call was in flight
   * (group-commit.ts). Rejects on any failure or after `timeoutMs` (the adds may still land
   * later: job ids make that harmless).
   */
  enqueue(batches: readonly QueueBatch[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The batches as script jobs. Each event is serialized once however many sinks take it: the
 * job's data is `{"event":…,"sink":…}`, byte for byte what JSON.stringify(job.data) gives. The
 * options are `deliveryJobOptions` (no delay, priority, parent, dedup or repeat, which the script
 * does not implement); add-jobs-script.test.ts routes through them, so adding such an option
 * fails there rather than being checked here on every job.
 */
function scriptJobs(prefix: string, batches: readonly QueueBatch[], timestamp: number): ScriptJob[] {
  const eventJson = new Map<BerthEvent, string>();
  const jobs: ScriptJob[] = [];
  for (const batch of batches) {
    const queueKey = `${prefix}:${batch.queueName}:`;
    const sink = JSON.stringify(batch.sink);
    for (const job of batch.jobs) {
      const { event } = job.data;
      let json = eventJson.get(event);
      if (json === undefined) {
        json = JSON.stringify(event);
        eventJson.set(event, json);
      }
      const id = job.opts.jobId;
      if (!id) throw new Error("outbox: a delivery job needs its jobId");
      jobs.push({ queueKey, id, name: job.name, data: `{"event":${json},"sink":${sink}}`, opts: JSON.stringify(job.opts), timestamp });
    }
  }
  return jobs;
}

export function createEnqueuer(connection: RedisConnection, prefix: string): Enqueuer {
  const redis = withAddJobs(connection);
  /** One BullMQ Queue per queue name, kept for its init: it writes the queue's meta as Queue.add's would. */
  const queues = new Map<string, { queue: Queue; ready: Promise<unknown> }>();

  function queueReady(name: string): Promise<unknown> {
    const cached = queues.get(name);
    if (cached) return cached.ready;
    // The connection is shared: closing a Queue leaves it open, and BullMQ never quits it.
    const queue = new Queue(name, { connection, prefix, skipVersionCheck: true });
    queue.on("error", () => {});
    const ready = queue.waitUntilReady();
    queues.set(name, { queue, ready });
    // A failed init (Redis away) is retried by the next enqueue to that queue.
    ready.catch(() => {
      if (queues.get(name)?.queue === queue) queues.delete(name);
      void queue.close().catch(() => {});
    });
    return ready;
  }

  const commit = createGroupCommit<QueueBatch>(async (batches) => {
    await Promise.all(batches.map((b) => queueReady(b.queueName)));
    await addJobs(redis, scriptJobs(prefix, batches, Date.now()));
  });

  return {
    async enqueue(batches, timeoutMs) {
      const adds = commit.submit(batches);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new EnqueueTimeoutError(timeoutMs)), timeoutMs);
      });
      // A late failure of an abandoned add must not become an unhandled rejection.
      adds.catch(() => {});
      try {
        await Promise.race([adds, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      const all = [...queues.values()];
      queues.clear();
      await Promise.allSettled(all.map((q) => q.queue.close()));
    },
  };
}

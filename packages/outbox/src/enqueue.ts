import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { QueueBatch } from "./job-router.js";

export class EnqueueTimeoutError extends Error {
  override readonly name = "EnqueueTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`enqueue did not complete within ${timeoutMs} ms`);
  }
}

interface CachedQueue {
  queue: Queue;
  /** Set when BullMQ's one-shot connection init failed; such a Queue never recovers. */
  broken: boolean;
}

export interface Enqueuer {
  /**
   * Adds every batch, each queue with one `addBulk` (one pipelined round trip); the queues are
   * written concurrently, so a publish costs about one RTT however many sinks match. Rejects on
   * any failure or after `timeoutMs` (the adds may still land later: job ids make that harmless).
   */
  enqueue(batches: readonly QueueBatch[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createEnqueuer(connection: Redis, prefix: string): Enqueuer {
  const queues = new Map<string, CachedQueue>();

  function queueFor(name: string): Queue {
    const cached = queues.get(name);
    if (cached && !cached.broken) return cached.queue;
    if (cached) void cached.queue.close().catch(() => {});
    // The connection is shared: closing a Queue leaves it open, and BullMQ never quits it.
    const entry: CachedQueue = {
      queue: new Queue(name, { connection, prefix, skipVersionCheck: true }),
      broken: false,
    };
    entry.queue.on("error", () => {});
    entry.queue.waitUntilReady().catch(() => {
      entry.broken = true;
    });
    queues.set(name, entry);
    return entry.queue;
  }

  return {
    async enqueue(batches, timeoutMs) {
      const adds = Promise.all(batches.map((b) => queueFor(b.queueName).addBulk(b.jobs)));
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
      await Promise.allSettled(all.map((c) => c.queue.close()));
    },
  };
}

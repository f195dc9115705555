import { Job, Queue, type RedisClient } from "bullmq";
import type { Redis } from "ioredis";
import type { QueueBatch } from "./job-router.js";
import { inOneWrite } from "./one-write.js";
import { createGroupCommit } from "./group-commit.js";

export class EnqueueTimeoutError extends Error {
  override readonly name = "EnqueueTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`enqueue did not complete within ${timeoutMs} ms`);
  }
}

interface CachedQueue {
  queue: Queue;
  /** BullMQ's client for this queue, once its one-shot connection init has finished. */
  client: Promise<RedisClient>;
  /** Set when that init failed; such a Queue never recovers. */
  broken: boolean;
}

export interface Enqueuer {
  /**
   * Adds every job of every batch with BullMQ's own `Job.addJob` (its add script, so the jobs are
   * exactly what `Queue.add` writes), all issued in one synchronous run into the producer
   * connection's corked socket: one write and one round trip for all queues, and for the
   * publishes gathered while the previous write was in flight (group-commit.ts). Rejects on any
   * failure or after `timeoutMs` (the adds may still land later: job ids make that harmless).
   */
  enqueue(batches: readonly QueueBatch[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createEnqueuer(connection: Redis, prefix: string): Enqueuer {
  const queues = new Map<string, CachedQueue>();

  function queueFor(name: string): CachedQueue {
    const cached = queues.get(name);
    if (cached && !cached.broken) return cached;
    if (cached) void cached.queue.close().catch(() => {});
    // The connection is shared: closing a Queue leaves it open, and BullMQ never quits it.
    const queue = new Queue(name, { connection, prefix, skipVersionCheck: true });
    queue.on("error", () => {});
    const entry: CachedQueue = {
      queue,
      client: queue.waitUntilReady().then(() => queue.getBackend().client),
      broken: false,
    };
    entry.client.catch(() => {
      entry.broken = true;
    });
    queues.set(name, entry);
    return entry;
  }

  async function addAll(batches: readonly QueueBatch[]): Promise<void> {
    const targets = batches.map((b) => queueFor(b.queueName));
    const clients = await Promise.all(targets.map((t) => t.client));
    // No await between the adds: each script call is written synchronously, in batch order, into
    // the corked socket, so all of them leave in one write (one syscall on each side). BullMQ's
    // client is its own object but wraps this connection's socket, so corking `connection` works.
    const adds: Promise<string>[] = [];
    inOneWrite(connection, () => {
      batches.forEach((batch, i) => {
        const queue = targets[i]?.queue;
        const client = clients[i];
        if (!queue || !client) return;
        for (const job of batch.jobs) adds.push(new Job(queue, job.name, job.data, job.opts, job.opts.jobId).addJob(client));
      });
    });
    await Promise.all(adds);
  }

  const commit = createGroupCommit(addAll);

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
      await Promise.allSettled(all.map((c) => c.queue.close()));
    },
  };
}

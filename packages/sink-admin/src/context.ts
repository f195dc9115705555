import type { SinkConfig } from "@berth/config";
import { type DeadLetterJobData, type DeliveryJobData, deadLetterQueueName, sinkQueueName } from "@berth/queue";
import { Queue } from "bullmq";
import type { RedisConnection } from "@berth/queue";

/** Where the sink queues live: a Redis connection the caller owns (and closes) and the BullMQ prefix. */
export interface SinkAdminContext {
  connection: RedisConnection;
  prefix: string;
}

export interface SinkQueues {
  sink: Queue<DeliveryJobData>;
  dead: Queue<DeadLetterJobData>;
  close(): Promise<void>;
}

/** Both queues of one sink, on the caller's connection (closing them leaves the connection open). */
export function openSinkQueues(ctx: SinkAdminContext, sink: SinkConfig): SinkQueues {
  const opts = { connection: ctx.connection, prefix: ctx.prefix };
  const sinkQueue = new Queue<DeliveryJobData>(sinkQueueName(sink), opts);
  const dead = new Queue<DeadLetterJobData>(deadLetterQueueName(sink), opts);
  return {
    sink: sinkQueue,
    dead,
    async close() {
      await Promise.all([sinkQueue.close(), dead.close()]);
    },
  };
}

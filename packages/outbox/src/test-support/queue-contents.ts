import type { DeliveryJobData } from "@berth/queue";
import { Queue } from "bullmq";
import type { RedisConnection } from "@berth/queue";

/** The waiting jobs of a sink queue, oldest first (the order a worker takes them). */
export async function waitingJobs(
  connection: RedisConnection,
  prefix: string,
  queueName: string,
): Promise<{ id: string; data: DeliveryJobData }[]> {
  const queue = new Queue<DeliveryJobData>(queueName, { connection, prefix });
  try {
    const jobs = await queue.getJobs(["wait"], 0, -1, true);
    return jobs.map((job) => ({ id: String(job.id), data: job.data }));
  } finally {
    await queue.close();
  }
}

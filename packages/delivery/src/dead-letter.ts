/**
 * Moving finished-and-failed jobs to the sink's dead-letter queue. Order matters, so that an event
 * is never lost: first add the dead letter (job id = the original job id, so a repeat is a no-op),
 * then remove the failed job. If the add fails the failed job stays where it is and the next sweep
 * tries again.
 */
import { DEAD_LETTER_JOB_NAME, type DeadLetterJobData, type DeliveryJobData } from "@berth/queue";
import type { Job, Queue } from "bullmq";
import type { AttemptFailure } from "./attempt-failure.js";

export async function moveToDeadLetters(
  job: Job<DeliveryJobData>,
  failure: Pick<AttemptFailure, "name" | "message" | "reason">,
  queue: Queue<DeliveryJobData>,
  deadLetters: Queue<DeadLetterJobData>,
): Promise<void> {
  if (job.id === undefined) throw new Error("cannot dead-letter a job without an id");
  const data: DeadLetterJobData = {
    event: job.data.event,
    sink: job.data.sink,
    error: { name: failure.name, message: failure.message, reason: failure.reason },
    attempts: job.attemptsMade,
    enqueuedAt: job.timestamp,
    failedAt: job.finishedOn ?? Date.now(),
  };
  await deadLetters.add(DEAD_LETTER_JOB_NAME, data, { jobId: job.id });
  try {
    await queue.remove(job.id);
  } catch (err) {
    // Another process (a sweep) removed it first: the dead letter exists, nothing is lost.
    if ((await queue.getJob(job.id)) !== undefined) throw err;
  }
}

/**
 * Dead-letters jobs left in the failed set: by a process that died between the failure and the
 * move, by a failed move, or by BullMQ itself (stalled too often). Returns how many it moved.
 */
export async function sweepFailedJobs(
  queue: Queue<DeliveryJobData>,
  deadLetters: Queue<DeadLetterJobData>,
  batch = 100,
): Promise<number> {
  const jobs = await queue.getFailed(0, batch - 1);
  let moved = 0;
  for (const job of jobs) {
    if (!job?.id) continue;
    const failure = { name: "Error", message: job.failedReason || "failed", reason: "unknown" };
    await moveToDeadLetters(job, failure, queue, deadLetters);
    moved++;
  }
  return moved;
}

import type { SinkConfig } from "@berth/config";
import { DELIVERY_JOB_NAME, type DeadLetterJobData, type DeliveryJobData, deliveryJobOptions } from "@berth/queue";
import type { Job, JobState } from "bullmq";
import type { SinkQueues } from "./context.js";
import { isDeadLetterData } from "./dead-letters.js";
import { ReplayError } from "./errors.js";

export type ReplayOutcome =
  /** Re-added to the sink queue; the dead letter is gone. */
  | "replayed"
  /** The sink queue already holds a pending job for this event, which will deliver it. */
  | "already-queued";

/** A job with this id in these states will still be delivered: re-adding would be a no-op. */
const PENDING: readonly (JobState | "unknown")[] = ["waiting", "active", "delayed", "prioritized", "waiting-children"];

const REMOVE_TRIES = 5;
const REMOVE_PAUSE_MS = 50;

/**
 * Moves one dead letter back to its sink queue with the ORIGINAL event (same CloudEvent id, same
 * job id), then removes the dead letter. The order matters: if we crash between the two steps the
 * event is in both places and a second replay finds it already queued — at least once, never lost.
 */
export async function replayDeadLetter(
  queues: SinkQueues,
  sink: SinkConfig,
  dead: Job<DeadLetterJobData>,
): Promise<ReplayOutcome> {
  const deadId = dead.id ?? "?";
  if (!isDeadLetterData(dead.data)) throw new ReplayError(deadId, "data is not a dead letter; left in place");
  const event = dead.data.event;
  const options = deliveryJobOptions(sink, event.id);
  const jobId = options.jobId!;

  const before = await queues.sink.getJobState(jobId);
  let outcome: ReplayOutcome = "replayed";
  if (PENDING.includes(before)) {
    outcome = "already-queued";
  } else {
    if (before === "failed") await refuseWhileBeingMoved(queues, jobId, dead);
    if (before !== "unknown") await removeStale(queues, jobId, deadId, before);
    const data: DeliveryJobData = { event, sink: sink.name };
    await queues.sink.add(DELIVERY_JOB_NAME, data, options);
    const after = await queues.sink.getJobState(jobId);
    // `add` with an existing job id silently keeps the old job; make sure ours is really pending.
    // "unknown" is fine too: the id was free before the add, so the job was ours (or a concurrent
    // replay's), and a worker has already delivered it and removed it on completion — seen in CI
    // when the replay runs beside a fast worker.
    if (!PENDING.includes(after) && after !== "unknown") {
      throw new ReplayError(deadId, `re-added job ${jobId} is ${after}, not pending; dead letter kept`);
    }
  }
  await removeDeadLetter(queues, deadId);
  return outcome;
}

/**
 * The failed job this very letter records (same creation time) is still in the sink queue: the
 * worker that wrote the letter is about to remove it, or died before it could (its sweep will). A
 * replay now would remove it and re-add the event, and that worker's pending remove would then
 * delete the re-added job: the event gone with its letter. Keep the letter; a moment later the
 * replay goes through.
 */
async function refuseWhileBeingMoved(queues: SinkQueues, jobId: string, dead: Job<DeadLetterJobData>): Promise<void> {
  const failed = await queues.sink.getJob(jobId);
  if (failed !== undefined && failed.timestamp === dead.data.enqueuedAt) {
    throw new ReplayError(dead.id ?? "?", `its failed delivery job ${jobId} is still being moved to the dead-letter queue; replay again shortly (a running worker finishes the move within 30 s)`);
  }
}

/**
 * A finished job with the same id (e.g. the failed original, left behind when a worker crashed
 * between dead-lettering and cleanup) would make BullMQ treat our add as a duplicate and drop it.
 */
async function removeStale(queues: SinkQueues, jobId: string, deadId: string, state: JobState | "unknown") {
  const removed = await queues.sink.remove(jobId);
  if (removed !== 1 && (await queues.sink.getJobState(jobId)) !== "unknown") {
    throw new ReplayError(deadId, `stale ${state} job ${jobId} in the sink queue could not be removed`);
  }
}

/** Only after the event is safely back in its sink queue. A locked job (being parked) is retried briefly. */
async function removeDeadLetter(queues: SinkQueues, deadId: string): Promise<void> {
  for (let i = 0; i < REMOVE_TRIES; i++) {
    if ((await queues.dead.remove(deadId)) === 1) return;
    if ((await queues.dead.getJobState(deadId)) === "unknown") return;
    await new Promise((r) => setTimeout(r, REMOVE_PAUSE_MS * (i + 1)));
  }
  throw new ReplayError(deadId, "event re-queued, but the dead letter is locked and was kept (replaying it again may deliver the event twice)");
}

/**
 * Moving finished-and-failed jobs to the sink's dead-letter queue. Order matters, so that an event
 * is never lost: first write the dead letter, then remove the failed job. If the write fails the
 * failed job stays where it is and the next sweep tries again.
 *
 * The dead letter's job id is the delivery job's id (`deliveryJobId(event, sink)`), so the
 * dead-letter queue holds at most one letter per event and sink: **the latest failure wins**.
 * A replay re-adds the delivery job under the same id; if that delivery fails again while the old
 * letter is still there (the replay could not remove it, or a tool replayed without removing it),
 * a plain `add` would be a silent no-op and the new failure would vanish with the failed job. So:
 *   - no letter with that id: add it;
 *   - a letter for this very failure (same event, same `enqueuedAt` = the delivery job's creation
 *     time, e.g. a sweep repeating a move a crashed process half-did): keep it, nothing to write;
 *   - a letter of an earlier failure: remove it and add the new one. A letter that cannot be
 *     removed (locked by the dashboard's parker at that instant) throws DeadLetterBusyError and the
 *     failed job stays in the failed set for the sweep: still never lost.
 * Replacing rather than adding a second letter under a suffixed id keeps "one letter per event" true
 * for depth metrics and operators, and a replay of it delivers the event again; the earlier
 * failure's details are superseded by the newer ones (`attempts`, `error`, `failedAt`).
 */
import { DEAD_LETTER_JOB_NAME, type DeadLetterJobData, type DeliveryJobData } from "@berth/queue";
import type { Job, Queue } from "bullmq";
import type { AttemptFailure } from "./attempt-failure.js";

/** An earlier dead letter of the same event is locked and could not be replaced (yet). */
export class DeadLetterBusyError extends Error {
  override readonly name = "DeadLetterBusyError";
  readonly jobId: string;
  constructor(jobId: string) {
    super(`dead letter ${jobId} of an earlier failure is locked; the failed job is kept for the next sweep`);
    this.jobId = jobId;
  }
}

/** added: a new letter; replaced: it superseded an earlier failure's letter; kept: already there. */
export type DeadLetterOutcome = "added" | "replaced" | "kept";

function recordsThisFailure(letter: Job<DeadLetterJobData>, job: Job<DeliveryJobData>): boolean {
  const data = letter.data as Partial<DeadLetterJobData> | undefined;
  return data?.event?.id === job.data.event.id && data.enqueuedAt === job.timestamp;
}

async function writeDeadLetter(
  id: string,
  job: Job<DeliveryJobData>,
  data: DeadLetterJobData,
  deadLetters: Queue<DeadLetterJobData>,
): Promise<DeadLetterOutcome> {
  const existing = await deadLetters.getJob(id);
  if (existing !== undefined && recordsThisFailure(existing, job)) return "kept";
  if (existing !== undefined) {
    const removed = await deadLetters.remove(id);
    if (removed !== 1 && (await deadLetters.getJobState(id)) !== "unknown") throw new DeadLetterBusyError(id);
  }
  await deadLetters.add(DEAD_LETTER_JOB_NAME, data, { jobId: id });
  return existing === undefined ? "added" : "replaced";
}

/** The attempt history follows the event, so the dashboard shows it on the dead letter too. */
async function copyAttemptLog(
  id: string,
  queue: Queue<DeliveryJobData>,
  deadLetters: Queue<DeadLetterJobData>,
): Promise<void> {
  const { logs } = await queue.getJobLogs(id, 0, -1, true);
  for (const line of logs) await deadLetters.addJobLog(id, line);
}

export async function moveToDeadLetters(
  job: Job<DeliveryJobData>,
  failure: Pick<AttemptFailure, "name" | "message" | "reason">,
  queue: Queue<DeliveryJobData>,
  deadLetters: Queue<DeadLetterJobData>,
): Promise<DeadLetterOutcome> {
  if (job.id === undefined) throw new Error("cannot dead-letter a job without an id");
  const id = job.id;
  const data: DeadLetterJobData = {
    event: job.data.event,
    sink: job.data.sink,
    error: { name: failure.name, message: failure.message, reason: failure.reason },
    attempts: job.attemptsMade,
    enqueuedAt: job.timestamp,
    failedAt: job.finishedOn ?? Date.now(),
  };
  const outcome = await writeDeadLetter(id, job, data, deadLetters);
  if (outcome !== "kept") await copyAttemptLog(id, queue, deadLetters);
  try {
    await queue.remove(id);
  } catch (err) {
    // Another process (a sweep) removed it first: the dead letter exists, nothing is lost.
    if ((await queue.getJob(id)) !== undefined) throw err;
  }
  return outcome;
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

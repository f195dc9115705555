import { eventKindOf } from "@berth/events";
import type { DeadLetterJobData } from "@berth/queue";
import type { Job, JobState, Queue } from "bullmq";

/**
 * The states a dead letter can be in: `waiting` as the delivery worker queued it (nothing consumes
 * a dead-letter queue), `failed` once the dashboard parked it for Bull Board's Retry button,
 * `active` for the instant the parker holds it. The rest only if someone moved it by hand.
 */
export const DEAD_LETTER_STATES: readonly JobState[] = ["waiting", "failed", "active", "delayed", "prioritized"];

export interface DeadLetter {
  jobId: string;
  state: JobState | "unknown";
  data: DeadLetterJobData;
}

export interface DeadLetterFilter {
  /** Only dead letters that failed at or after this instant. */
  since?: Date;
  /** Only this event type: the full CloudEvent type or its kind (`image.updated`). */
  type?: string;
}

/** A dead letter's payload as the catalog defines it; anything else is reported, never guessed at. */
export function isDeadLetterData(data: unknown): data is DeadLetterJobData {
  if (typeof data !== "object" || data === null) return false;
  const d = data as Partial<DeadLetterJobData>;
  return (
    typeof d.event === "object" &&
    d.event !== null &&
    typeof d.event.id === "string" &&
    typeof d.event.type === "string" &&
    typeof d.sink === "string"
  );
}

export function matchesFilter(data: DeadLetterJobData, filter: DeadLetterFilter): boolean {
  if (filter.since && !(typeof data.failedAt === "number" && data.failedAt >= filter.since.getTime())) return false;
  if (filter.type !== undefined) {
    const type = data.event.type;
    if (type !== filter.type && eventKindOf(type) !== filter.type) return false;
  }
  return true;
}

/**
 * The ids in the dead-letter queue right now, oldest first. Taken as a snapshot so that replaying
 * or purging (which remove jobs) cannot shift a page under our feet.
 */
export async function deadLetterIds(dead: Queue<DeadLetterJobData>): Promise<Map<string, JobState>> {
  const found = new Map<string, JobState>();
  for (const state of DEAD_LETTER_STATES) {
    const ids = await dead.getRanges([state], 0, -1, true);
    for (const id of ids) if (!found.has(id)) found.set(id, state);
  }
  return found;
}

const FETCH_BATCH = 100;

/**
 * Reads the dead letters behind `ids` in batches. Jobs that vanished meanwhile are skipped; jobs
 * whose data is not a dead letter are yielded through `onMalformed` so the caller can report them.
 */
export async function* readDeadLetters(
  dead: Queue<DeadLetterJobData>,
  states: ReadonlyMap<string, JobState>,
  onMalformed: (jobId: string) => void = () => {},
): AsyncGenerator<{ job: Job<DeadLetterJobData>; letter: DeadLetter }> {
  const ids = [...states.keys()];
  for (let i = 0; i < ids.length; i += FETCH_BATCH) {
    const batch = ids.slice(i, i + FETCH_BATCH);
    const jobs = await Promise.all(batch.map((id) => dead.getJob(id)));
    for (const job of jobs) {
      if (!job?.id) continue;
      if (!isDeadLetterData(job.data)) {
        onMalformed(job.id);
        continue;
      }
      yield { job, letter: { jobId: job.id, state: states.get(job.id) ?? "unknown", data: job.data } };
    }
  }
}

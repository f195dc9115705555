import type { SinkConfig } from "@berth/config";
import { type SinkAdminContext, openSinkQueues } from "./context.js";
import { type DeadLetterFilter, deadLetterIds, matchesFilter, readDeadLetters } from "./dead-letters.js";
import { DeadLetterNotFoundError, ReplayError, SinkAdminError } from "./errors.js";
import { type ReplayOutcome, replayDeadLetter } from "./replay-one.js";
import { runBounded } from "./run-bounded.js";

export interface ReplayProgress {
  /** Dead letters in the snapshot this replay works through (before filtering). */
  total: number;
  /** Looked at so far (replayed + alreadyQueued + skipped + failed). */
  done: number;
  replayed: number;
  alreadyQueued: number;
  /** Did not match the filter. */
  skipped: number;
  failed: number;
}

export interface ReplayResult extends ReplayProgress {
  /** The first failures (at most 100), each left in the dead-letter queue. */
  errors: SinkAdminError[];
}

export interface ReplayDeadLettersOptions extends SinkAdminContext, DeadLetterFilter {
  sink: SinkConfig;
  /** Called after each dead letter; throttle on your side. */
  onProgress?: (progress: Readonly<ReplayProgress>) => void;
  /** Dead letters moved in parallel (default 16). */
  concurrency?: number;
}

const MAX_REPORTED_ERRORS = 100;

/**
 * Moves the sink's dead letters (those matching the filter; all of them without one) back to its
 * sink queue, keeping each event's id. A dead letter that cannot be moved stays where it is and
 * is counted in `failed`.
 */
export async function replayDeadLetters(options: ReplayDeadLettersOptions): Promise<ReplayResult> {
  const queues = openSinkQueues(options, options.sink);
  try {
    const ids = await deadLetterIds(queues.dead);
    const result: ReplayResult = {
      total: ids.size, done: 0, replayed: 0, alreadyQueued: 0, skipped: 0, failed: 0, errors: [],
    };
    const fail = (err: SinkAdminError) => {
      result.failed++;
      if (result.errors.length < MAX_REPORTED_ERRORS) result.errors.push(err);
    };
    const letters = readDeadLetters(queues.dead, ids, (jobId) =>
      fail(new ReplayError(jobId, "data is not a dead letter; left in place")),
    );
    await runBounded(letters, options.concurrency ?? 16, async ({ job, letter }) => {
      if (!matchesFilter(letter.data, options)) {
        result.skipped++;
      } else {
        try {
          count(result, await replayDeadLetter(queues, options.sink, job));
        } catch (err) {
          fail(err instanceof SinkAdminError ? err : new ReplayError(letter.jobId, "replay failed", { cause: err }));
        }
      }
      result.done = result.replayed + result.alreadyQueued + result.skipped + result.failed;
      options.onProgress?.(result);
    });
    result.done = result.replayed + result.alreadyQueued + result.skipped + result.failed;
    return result;
  } finally {
    await queues.close();
  }
}

function count(result: ReplayProgress, outcome: ReplayOutcome): void {
  if (outcome === "replayed") result.replayed++;
  else result.alreadyQueued++;
}

/** Replays one dead letter by its job id in the dead-letter queue. */
export async function replayDeadLetterById(
  options: SinkAdminContext & { sink: SinkConfig; jobId: string },
): Promise<ReplayOutcome> {
  const queues = openSinkQueues(options, options.sink);
  try {
    const job = await queues.dead.getJob(options.jobId);
    if (!job) throw new DeadLetterNotFoundError(options.jobId);
    return await replayDeadLetter(queues, options.sink, job);
  } finally {
    await queues.close();
  }
}

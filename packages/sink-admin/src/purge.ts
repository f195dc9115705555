import type { SinkConfig } from "@berth/config";
import { type SinkAdminContext, openSinkQueues } from "./context.js";
import { type DeadLetterFilter, deadLetterIds, matchesFilter, readDeadLetters } from "./dead-letters.js";

export interface PurgeDeadLettersOptions extends SinkAdminContext, DeadLetterFilter {
  sink: SinkConfig;
}

export interface PurgeResult {
  removed: number;
  /** Matched but could not be removed (locked at that instant); still in the dead-letter queue. */
  kept: number;
}

/**
 * Deletes the sink's dead letters for good (those matching the filter; all without one). Jobs in
 * the dead-letter queue that are not dead letters are deleted too when there is no filter.
 */
export async function purgeDeadLetters(options: PurgeDeadLettersOptions): Promise<PurgeResult> {
  const queues = openSinkQueues(options, options.sink);
  const filtered = options.since !== undefined || options.type !== undefined;
  const result: PurgeResult = { removed: 0, kept: 0 };
  const remove = async (jobId: string) => {
    if ((await queues.dead.remove(jobId)) === 1) result.removed++;
    else if ((await queues.dead.getJobState(jobId)) !== "unknown") result.kept++;
  };
  try {
    const ids = await deadLetterIds(queues.dead);
    const malformed: string[] = [];
    for await (const { letter } of readDeadLetters(queues.dead, ids, (id) => malformed.push(id))) {
      if (matchesFilter(letter.data, options)) await remove(letter.jobId);
    }
    if (!filtered) for (const id of malformed) await remove(id);
    return result;
  } finally {
    await queues.close();
  }
}

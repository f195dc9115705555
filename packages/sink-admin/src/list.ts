import type { SinkConfig } from "@berth/config";
import { type SinkAdminContext, openSinkQueues } from "./context.js";
import { type DeadLetter, type DeadLetterFilter, deadLetterIds, matchesFilter, readDeadLetters } from "./dead-letters.js";

export interface ListDeadLettersOptions extends SinkAdminContext, DeadLetterFilter {
  sink: SinkConfig;
  /** Called for a job in the dead-letter queue whose data is not a dead letter (left untouched). */
  onMalformed?: (jobId: string) => void;
}

/** The sink's dead letters, oldest first, read in batches; stop iterating whenever you like. */
export async function* listDeadLetters(options: ListDeadLettersOptions): AsyncGenerator<DeadLetter> {
  const queues = openSinkQueues(options, options.sink);
  try {
    const ids = await deadLetterIds(queues.dead);
    for await (const { letter } of readDeadLetters(queues.dead, ids, options.onMalformed)) {
      if (matchesFilter(letter.data, options)) yield letter;
    }
  } finally {
    await queues.close();
  }
}

/** How many dead letters the sink has (all of them, no filter). */
export async function countDeadLetters(options: SinkAdminContext & { sink: SinkConfig }): Promise<number> {
  const queues = openSinkQueues(options, options.sink);
  try {
    return (await deadLetterIds(queues.dead)).size;
  } finally {
    await queues.close();
  }
}

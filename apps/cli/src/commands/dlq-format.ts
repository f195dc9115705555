import type { DeadLetter } from "@berth/sink-admin";

function iso(ms: number | undefined): string {
  return typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString() : "-";
}

/** One line per dead letter, tab-separated so `cut`/`awk` work. */
export const DEAD_LETTER_HEADER = ["FAILED_AT", "JOB", "EVENT_ID", "TYPE", "SUBJECT", "ATTEMPTS", "LAST_ERROR"].join("\t");

export function formatDeadLetter(letter: DeadLetter): string {
  const { event, error, attempts, failedAt } = letter.data;
  const ref = event.data.reference ?? event.data.digest;
  const subject = ref ? `${event.data.name}:${ref}` : event.data.name;
  const lastError = error ? `${error.reason}: ${error.message}` : "-";
  return [iso(failedAt), letter.jobId, event.id, event.type, subject, String(attempts ?? "-"), lastError].join("\t");
}

/** `--json`: one JSON object per line (the event, error and timestamps; never credentials). */
export function deadLetterJson(letter: DeadLetter): string {
  return JSON.stringify({ jobId: letter.jobId, state: letter.state, ...letter.data });
}

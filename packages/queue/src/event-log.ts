/**
 * The retained event log: a Redis stream `P:berth:event-log` to which the outbox's add-jobs script
 * appends every event that became durable, with its sequence, in the same call (one entry per
 * event, field `event` = the event JSON). Bounded by `extensions.events.log` (count and age,
 * trimmed as events are added). Entry ids are Redis's `<ms>-<n>`, so "since" is a range read.
 */
import type { RedisConnection } from "./connections.js";
import type { BerthEvent } from "@berth/events";


export function eventLogKey(prefix: string): string {
  return `${prefix}:berth:event-log`;
}

export interface LoggedEvent {
  /** The stream entry id. */
  id: string;
  /** When it was logged (epoch ms). */
  loggedAt: number;
  event: BerthEvent;
}

export interface EventLogRange {
  /** Oldest entry to read (epoch ms); default: the beginning of the log. */
  sinceMs?: number;
  /** Entries per round trip. */
  batch?: number;
}

/** The log's entries from `sinceMs` on, oldest first; entries that are not event JSON are skipped. */
export async function* readEventLog(conn: RedisConnection, prefix: string, range: EventLogRange = {}): AsyncGenerator<LoggedEvent> {
  const key = eventLogKey(prefix);
  const batch = range.batch ?? 500;
  let start = range.sinceMs === undefined ? "-" : String(Math.max(0, Math.floor(range.sinceMs)));
  for (;;) {
    const entries = await conn.xrange(key, start, "+", "COUNT", batch);
    for (const [id, fields] of entries) {
      const at = fields.indexOf("event");
      if (at < 0 || at % 2 !== 0) continue;
      try {
        yield { id, loggedAt: Number(id.split("-")[0]), event: JSON.parse(fields[at + 1]!) as BerthEvent };
      } catch {
        // not an event: skipped
      }
    }
    if (entries.length < batch) return;
    start = `(${entries.at(-1)![0]}`;
  }
}

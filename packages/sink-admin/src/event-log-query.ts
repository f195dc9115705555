/**
 * Reading the retained event log (`@berth/queue` event-log) with an operator's filters, for
 * `berth events list` and `berth events replay`.
 */
import { type BerthEvent, eventKindOf } from "@berth/events";
import { compileRepositoryGlobs } from "@berth/outbox";
import { type LoggedEvent, readEventLog } from "@berth/queue";
import type { SinkAdminContext } from "./context.js";

export interface EventLogQuery {
  /** Events logged at or after this time (epoch ms). */
  sinceMs?: number;
  /** Repository globs (`*` within a segment, `**` across); empty or absent = all. */
  repositories?: readonly string[];
  /** Event kind (`image.updated`) or full type (`zotregistry.image.updated`). */
  type?: string;
  /** One repository's events from this sequence on (`--from-sequence REPO:N`). */
  fromSequence?: { repository: string; sequence: number };
}

export function matchesQuery(event: BerthEvent, query: EventLogQuery, repositoryMatches: (name: string) => boolean): boolean {
  if (query.type !== undefined && event.type !== query.type && eventKindOf(event.type) !== query.type) return false;
  if (!repositoryMatches(event.data.name)) return false;
  const from = query.fromSequence;
  if (from && (event.data.name !== from.repository || Number(event.sequence ?? 0) < from.sequence)) return false;
  return true;
}

/** The logged events matching the query, oldest first. */
export async function* queryEventLog(ctx: SinkAdminContext, query: EventLogQuery): AsyncGenerator<LoggedEvent> {
  const matcher = compileRepositoryGlobs(query.repositories ?? []);
  const range = query.sinceMs === undefined ? {} : { sinceMs: query.sinceMs };
  for await (const entry of readEventLog(ctx.connection, ctx.prefix, range)) {
    if (matchesQuery(entry.event, query, matcher)) yield entry;
  }
}

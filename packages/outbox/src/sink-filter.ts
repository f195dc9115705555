import type { SinkConfig } from "@berth/config";
import { type BerthEvent, eventKindOf } from "@berth/events";
import { compileRepositoryGlobs } from "@berth/oci";

export type SinkFilter = (event: BerthEvent) => boolean;

/**
 * Whether a sink wants an event: its `events` kinds (empty = all) and its `repositories` globs
 * (empty = all). The kind is read whatever the configured type prefix; a foreign type only
 * passes a sink that takes every kind.
 */
export function createSinkFilter(sink: Pick<SinkConfig, "events" | "repositories">): SinkFilter {
  const kinds = new Set<string>(sink.events);
  const repositoryMatches = compileRepositoryGlobs(sink.repositories);
  return (event) => {
    if (kinds.size > 0) {
      const kind = eventKindOf(event.type);
      if (!kind || !kinds.has(kind)) return false;
    }
    return repositoryMatches(event.data.name);
  };
}

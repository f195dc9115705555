import type { BerthEvent } from "./event.js";

/**
 * The CloudEvents JSON event format (json-format 1.0.2 §3): context attributes as top-level
 * members and `data` embedded as JSON because `datacontenttype` is `application/json` (§3.1).
 * Members are written in the order zot's Go SDK writes them, so payloads diff cleanly.
 */
export function toStructuredJson(event: BerthEvent): string {
  return JSON.stringify({
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    datacontenttype: event.datacontenttype,
    time: event.time,
    // Extension attributes are top-level members too (§3.1); absent ones are left out.
    sequence: event.sequence,
    snapshot: event.snapshot,
    outoforder: event.outoforder,
    manifestomitted: event.manifestomitted,
    data: event.data,
  });
}

import { type BerthEvent, extensionAttributes } from "./event.js";
import { encodeHeaderValue } from "./header-value.js";

/**
 * The `ce-` headers of binary content mode, shared by the HTTP binding (§3.1.3) and the NATS
 * binding (§3.1.3): every context attribute except `datacontenttype`, which travels as the
 * `content-type` header instead (§3.1.1), plus the event's extension attributes (`sequence`, …)
 * and the sink's (`channel`).
 */
export function contextHeaders(
  event: BerthEvent,
  extensions: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const headers: Record<string, string> = {
    "ce-specversion": event.specversion,
    "ce-id": encodeHeaderValue(event.id),
    "ce-source": encodeHeaderValue(event.source),
    "ce-type": encodeHeaderValue(event.type),
    "ce-time": encodeHeaderValue(event.time),
  };
  for (const [name, value] of Object.entries({ ...extensionAttributes(event), ...extensions })) {
    headers[`ce-${name}`] = encodeHeaderValue(value);
  }
  headers["content-type"] = event.datacontenttype;
  return headers;
}

import type { BerthEvent } from "./event.js";
import { toStructuredJson } from "./structured-json.js";

/**
 * What zot publishes to NATS: its sink uses the Go SDK's NATS sender, which only writes
 * structured mode (nats-protocol-binding 1.0.2 §3.2) as the message payload, with no NATS
 * headers. So a consumer reads `.type` and `.data.name` straight from the message body.
 */
const utf8 = new TextEncoder();

export function toNatsStructured(event: BerthEvent): Uint8Array {
  return utf8.encode(toStructuredJson(event));
}

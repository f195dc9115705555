import { contextHeaders } from "./context-headers.js";
import type { BerthEvent } from "./event.js";

export interface NatsMessage {
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * NATS binary content mode (nats-protocol-binding 1.0.2 §3.1): context attributes as `ce-` NATS
 * headers, `datacontenttype` as `content-type`, payload = `data` as JSON. Not what zot sends (zot
 * is structured only); offered for consumers that route on headers.
 */
const utf8 = new TextEncoder();

export function toNatsBinary(event: BerthEvent): NatsMessage {
  return {
    headers: contextHeaders(event),
    body: utf8.encode(JSON.stringify(event.data)),
  };
}

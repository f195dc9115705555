import type { SinkConfig } from "@berth/config";
import { type BerthEvent, toNatsBinary, toNatsStructured } from "@berth/events";
import { headers, type MsgHdrs } from "@nats-io/nats-core";

export interface NatsMessage {
  payload: Uint8Array;
  /** Only in binary mode: structured mode sends no NATS headers, exactly as zot does. */
  headers: MsgHdrs | undefined;
}

/**
 * The NATS message for one event. Structured mode (the default, as zot publishes) carries the
 * whole CloudEvent as JSON in the payload; binary mode puts the attributes in `ce-*` headers and
 * `data` in the payload (CloudEvents NATS protocol binding, section 3.1).
 */
export function buildNatsMessage(event: BerthEvent, sink: Pick<SinkConfig, "mode">): NatsMessage {
  if (sink.mode !== "binary") return { payload: toNatsStructured(event), headers: undefined };
  const binary = toNatsBinary(event);
  const h = headers();
  for (const [name, value] of Object.entries(binary.headers)) h.set(name, value);
  return { payload: binary.body, headers: h };
}

import type { SinkConfig } from "@berth/config";
import { type BerthEvent, toNatsBinary, toNatsStructured, withoutManifest } from "@berth/events";
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

/**
 * Room kept for what the client adds to a JetStream publish: the `Nats-Msg-Id` header (with the
 * header block's framing when the message had no headers).
 */
const JETSTREAM_HEADER_ROOM = 64;

/**
 * Bytes the server counts against max_payload: the payload plus the header block as the client
 * writes it (`NATS/1.0\r\n`, a `name: value\r\n` line per value, `\r\n`).
 */
export function messageBytes(message: NatsMessage): number {
  const h = message.headers;
  if (!h) return message.payload.length;
  let bytes = 12;
  for (const name of h.keys()) {
    for (const value of h.values(name)) bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  }
  return message.payload.length + bytes;
}

/**
 * The message for an event, fitted to the server's `max_payload`: an event that would exceed it
 * is sent without `data.manifest` (`manifestomitted: size`) rather than failing on every attempt
 * and being dead-lettered. `thinned` says it happened; a message still too large is returned as
 * is and fails as before.
 */
export function buildFittingNatsMessage(
  event: BerthEvent,
  sink: Pick<SinkConfig, "mode" | "jetstream">,
  maxPayload: number | undefined,
): { message: NatsMessage; thinned: boolean } {
  const message = buildNatsMessage(event, sink);
  if (maxPayload === undefined) return { message, thinned: false };
  const room = sink.jetstream ? JETSTREAM_HEADER_ROOM + event.id.length : 0;
  if (messageBytes(message) + room <= maxPayload || event.data.manifest === undefined) return { message, thinned: false };
  return { message: buildNatsMessage(withoutManifest(event, "size"), sink), thinned: true };
}

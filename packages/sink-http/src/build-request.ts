/**
 * Encode apart from send (STYLE habit 6): the exact HTTP request for one event and one sink,
 * with no I/O, so tests and `berth sink test` can show it.
 */
import type { SinkConfig } from "@berth/config";
import { type BerthEvent, toHttpBinary, toHttpStructured } from "@berth/events";
import { webhookSignature } from "./webhook-signature.js";

export interface HttpRequest {
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: string;
}

export type HttpSinkSettings = Pick<
  SinkConfig,
  "address" | "mode" | "channel" | "headers" | "credentials" | "signingSecret"
>;

export const USER_AGENT = "berth-webhook";

function authorization(credentials: SinkConfig["credentials"]): string | undefined {
  if (credentials.username !== undefined) {
    const pair = `${credentials.username}:${credentials.password ?? ""}`;
    return `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
  }
  if (credentials.token !== undefined) return `Bearer ${credentials.token}`;
  return undefined;
}

/**
 * Binary mode is what zot sends (CloudEvents HTTP binding §3.1); structured on request (§3.2).
 * Precedence, lowest first: the sink's custom headers, the CloudEvents headers, auth, signature —
 * a custom header can never disguise the event or replace the configured credentials.
 */
export function buildHttpRequest(event: BerthEvent, sink: HttpSinkSettings, now: Date = new Date()): HttpRequest {
  const message =
    sink.mode === "structured"
      ? toHttpStructured(event)
      : toHttpBinary(event, sink.channel === undefined ? {} : { channel: sink.channel });
  const headers: Record<string, string> = { "user-agent": USER_AGENT };
  for (const [name, value] of Object.entries(sink.headers)) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(message.headers)) headers[name.toLowerCase()] = value;
  const auth = authorization(sink.credentials);
  if (auth !== undefined) headers["authorization"] = auth;
  if (sink.signingSecret !== undefined) {
    const timestamp = Math.floor(now.getTime() / 1000);
    headers["webhook-id"] = event.id;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = webhookSignature(sink.signingSecret, event.id, timestamp, message.body);
  }
  return { url: sink.address, method: "POST", headers, body: message.body };
}

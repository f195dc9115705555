import { contextHeaders } from "./context-headers.js";
import type { BerthEvent } from "./event.js";

export interface HttpMessage {
  headers: Record<string, string>;
  body: string;
}

export interface HttpBinaryOptions {
  /** zot sets the sink's `channel` as the `channel` extension attribute (`ce-channel`). */
  channel?: string;
}

/**
 * HTTP binary content mode (http-protocol-binding 1.0.2 §3.1), which is what zot sends: its HTTP
 * sink is the Go SDK client with default settings, and that client writes binary mode. The body is
 * `data` as JSON; `manifest` stays a string inside it, as zot passes it.
 */
export function toHttpBinary(event: BerthEvent, options: HttpBinaryOptions = {}): HttpMessage {
  const extensions: Record<string, string> = options.channel ? { channel: options.channel } : {};
  return { headers: contextHeaders(event, extensions), body: JSON.stringify(event.data) };
}

import type { BerthEvent } from "./event.js";
import type { HttpMessage } from "./http-binary.js";
import { toStructuredJson } from "./structured-json.js";

export const CLOUDEVENTS_JSON = "application/cloudevents+json";

/** HTTP structured content mode (http-protocol-binding 1.0.2 §3.2): the whole event as JSON. */
export function toHttpStructured(event: BerthEvent): HttpMessage {
  return { headers: { "content-type": CLOUDEVENTS_JSON }, body: toStructuredJson(event) };
}

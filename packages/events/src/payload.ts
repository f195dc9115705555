import type { BerthEvent, ManifestOmitted } from "./event.js";

/**
 * How much of an event a sink gets. `full` is zot's event, `data.manifest` included; `thin`
 * leaves the manifest out (consumers fetch it by `data.digest`). With `maxManifestBytes` > 0 a
 * manifest larger than that many UTF-8 bytes is left out too. Either way the event says so in
 * the `manifestomitted` extension attribute (lowercase alphanumeric, as CloudEvents 1.0 §3.1.1
 * requires of attribute names), so a consumer can tell "left out" from "never had one".
 */
export type PayloadMode = "full" | "thin";
export const PAYLOAD_MODES: readonly PayloadMode[] = ["full", "thin"];

export interface PayloadOptions {
  payload?: PayloadMode;
  /** 0 or absent = no limit. */
  maxManifestBytes?: number;
}

/** The event as a sink with these options gets it: the same object when nothing is left out. */
export function shapePayload(event: BerthEvent, options: PayloadOptions): BerthEvent {
  const manifest = event.data.manifest;
  if (manifest === undefined) return event;
  if (options.payload === "thin") return withoutManifest(event, "thin");
  const max = options.maxManifestBytes ?? 0;
  // A string's UTF-8 length is at most 3 bytes per UTF-16 unit: skip the count when it cannot exceed.
  if (max > 0 && manifest.length * 3 > max && Buffer.byteLength(manifest, "utf8") > max) return withoutManifest(event, "size");
  return event;
}

/** A copy without `data.manifest`, saying why; events without a manifest are returned as they are. */
export function withoutManifest(event: BerthEvent, reason: ManifestOmitted): BerthEvent {
  if (event.data.manifest === undefined) return event;
  const { manifest: _left, ...data } = event.data;
  return { ...event, manifestomitted: reason, data };
}

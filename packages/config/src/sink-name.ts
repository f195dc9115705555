/**
 * A sink's name is its identity: it names the sink's queue, dead-letter queue and env
 * variables, so it must not change while the sink's config means the same thing. The default
 * is derived from type + address (without credentials, so rotating a password in a URL keeps
 * the queue) + channel: `http-events-example-com-1a2b3c4d`.
 */
import { createHash } from "node:crypto";

const MAX_HOST_PART = 40;

function withoutCredentials(address: string): string {
  return address.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/gi, "$1");
}

function hostOf(address: string): string {
  const first = address.split(",")[0]?.trim() ?? "";
  try {
    return new URL(first).hostname;
  } catch {
    return first;
  }
}

export function defaultSinkName(type: string, address: string, channel?: string): string {
  const plain = withoutCredentials(address);
  const hash = createHash("sha256")
    .update(`${type}\n${plain}\n${channel ?? ""}`)
    .digest("hex")
    .slice(0, 8);
  const host = hostOf(plain)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, MAX_HOST_PART)
    .replace(/^-+|-+$/g, "");
  return host === "" ? `${type}-${hash}` : `${type}-${host}-${hash}`;
}

/** `BERTH_SINK_<NAME>_<SUFFIX>`: name upper-cased, `-` -> `_`. */
export function sinkEnvName(sinkName: string, suffix: "PASSWORD" | "TOKEN" | "SIGNING_SECRET"): string {
  return `BERTH_SINK_${sinkName.toUpperCase().replaceAll("-", "_")}_${suffix}`;
}

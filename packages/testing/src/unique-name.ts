import { randomBytes } from "node:crypto";

/** A name no other test run uses: for Redis key prefixes, queue names, NATS subjects and streams. */
export function uniqueName(label = "t"): string {
  return `${label}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

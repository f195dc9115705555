import { crc32 } from "node:zlib";
import type { BerthEvent } from "@berth/events";

/**
 * One journal line per event: `{"crc":<crc32 of the event JSON>,"event":<event JSON>}\n`.
 * The checksum covers the exact event bytes, so a line torn by a crash mid-write, or damaged
 * on disk, is detected and skipped instead of delivering half an event.
 */
const LINE = /^\{"crc":(\d+),"event":(.*)\}$/;

export function encodeRecord(event: BerthEvent): string {
  const json = JSON.stringify(event);
  return `{"crc":${crc32(json)},"event":${json}}\n`;
}

export type DecodedRecord = { ok: true; event: BerthEvent } | { ok: false; reason: string };

export function decodeRecord(line: string): DecodedRecord {
  const match = LINE.exec(line);
  if (!match) return { ok: false, reason: "not a journal record" };
  const [, crc, json = ""] = match;
  if (String(crc32(json)) !== crc) return { ok: false, reason: "checksum mismatch" };
  try {
    const event = JSON.parse(json) as BerthEvent;
    if (typeof event?.id !== "string" || typeof event.type !== "string" || !event.data) {
      return { ok: false, reason: "not an event" };
    }
    return { ok: true, event };
  } catch {
    return { ok: false, reason: "invalid JSON" };
  }
}

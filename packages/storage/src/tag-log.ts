import { randomBytes } from "node:crypto";
import type { IndexRecord } from "./repository-index.js";

/**
 * tags.log's format: JSON lines. The first line is a header naming the file's generation (a new
 * one at each compaction, so a reader holding an offset into an older file notices) and `base`,
 * the repository's change count before the file's first counted line. Snapshot lines (`"s":1`,
 * written by a compaction or by seeding from index.json) restate the state and are not counted;
 * every other line is one acknowledged change. A reader's position is therefore `base + counted
 * lines`, monotonic across compactions: index.json's view marker stores it.
 */
export interface LogHeader {
  v: 1;
  gen: string;
  base: number;
}

const NEWLINE = 0x0a;
/** A header line is far shorter; reading this much from offset 0 always holds it. */
export const HEADER_READ_BYTES = 512;

export function newHeader(base: number): LogHeader {
  return { v: 1, gen: randomBytes(8).toString("hex"), base };
}

export function headerLine(header: LogHeader): string {
  return `${JSON.stringify({ berth: "tags.log", ...header })}\n`;
}

export function recordLine(record: IndexRecord, snapshot = false): string {
  return `${JSON.stringify(snapshot ? { s: 1, ...record } : record)}\n`;
}

export class TagLogCorruptError extends Error {
  override readonly name = "TagLogCorruptError";
}

/** Parses the header at the start of `bytes`; undefined when the first line is incomplete. */
export function parseHeader(bytes: Buffer): { header: LogHeader; length: number } | undefined {
  const end = bytes.indexOf(NEWLINE);
  if (end < 0) return undefined;
  let doc: Partial<LogHeader> & { berth?: string };
  try {
    doc = JSON.parse(bytes.subarray(0, end).toString("utf8"));
  } catch (cause) {
    throw new TagLogCorruptError("tags.log header is not JSON", { cause });
  }
  if (doc.berth !== "tags.log" || doc.v !== 1 || typeof doc.gen !== "string" || typeof doc.base !== "number") {
    throw new TagLogCorruptError("tags.log header is not a version 1 header");
  }
  return { header: { v: 1, gen: doc.gen, base: doc.base }, length: end + 1 };
}

export interface ParsedLines {
  records: IndexRecord[];
  /** Lines that count as changes (not snapshot lines). */
  counted: number;
  /** Bytes consumed: up to and including the last newline (a torn last line is left). */
  consumed: number;
  /** Lines that did not parse (skipped: a disk fault, never our writes). */
  skipped: number;
}

export function parseLines(bytes: Buffer): ParsedLines {
  const result: ParsedLines = { records: [], counted: 0, consumed: 0, skipped: 0 };
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(NEWLINE, start);
    if (end < 0) break;
    if (end > start) {
      const record = parseRecord(bytes.subarray(start, end));
      if (record) {
        result.records.push(record.record);
        if (!record.snapshot) result.counted++;
      } else result.skipped++;
    }
    start = end + 1;
  }
  result.consumed = start;
  return result;
}

function parseRecord(line: Buffer): { record: IndexRecord; snapshot: boolean } | undefined {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line.toString("utf8"));
  } catch {
    return undefined;
  }
  const { s, ...record } = doc;
  if (!isRecord(record)) return undefined;
  return { record, snapshot: s === 1 };
}

function isRecord(doc: Record<string, unknown>): doc is IndexRecord {
  const m = doc.m as { digest?: unknown; mediaType?: unknown } | undefined;
  const descriptorOk = typeof m === "object" && m !== null && typeof m.digest === "string" && typeof m.mediaType === "string";
  switch (doc.op) {
    case "tag":
      return typeof doc.tag === "string" && descriptorOk;
    case "manifest":
      return descriptorOk;
    case "untag":
      return typeof doc.tag === "string";
    case "drop":
      return typeof doc.digest === "string";
    default:
      return false;
  }
}

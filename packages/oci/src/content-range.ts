import { OciError } from "./errors.js";

/**
 * Header grammars used by blob transfers. Uploads (distribution-spec "Pushing a blob in chunks"):
 * `Content-Range: <start>-<end>` inclusive; downloads: RFC 9110 `Range: bytes=<start>-<end>`.
 */

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

const UPLOAD_RANGE = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/;

/** A chunk's Content-Range; malformed → 416 BLOB_UPLOAD_INVALID (spec: "Invalid Content-Range header format"). */
export function parseUploadContentRange(header: string): ByteRange {
  const m = UPLOAD_RANGE.exec(header.trim());
  const start = Number(m?.[1]);
  const end = Number(m?.[2]);
  if (!m || end < start) {
    throw new OciError("BLOB_UPLOAD_INVALID", "invalid Content-Range", { status: 416, detail: { contentRange: header.slice(0, 100) } });
  }
  return { start, end };
}

const DOWNLOAD_RANGE = /^bytes=(\d{0,15})-(\d{0,15})$/;

/**
 * One byte range of a blob of `size` bytes, or undefined when the header should be ignored
 * (multi-range or foreign units are served whole, as RFC 9110 allows). Unsatisfiable → 416.
 */
export function parseBlobRange(header: string, size: number): ByteRange | undefined {
  const m = DOWNLOAD_RANGE.exec(header.trim());
  if (!m) return undefined;
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return undefined;
  let start: number;
  let end: number;
  if (first === "") {
    // suffix range: the last N bytes
    const n = Number(last);
    if (n === 0) throw unsatisfiable(size);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== "" && Number(last) < start) return undefined;
  }
  if (start >= size || size === 0) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): OciError {
  return new OciError("SIZE_INVALID", "requested range not satisfiable", { status: 416, detail: { size } });
}

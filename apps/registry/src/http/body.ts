import type { IncomingMessage, ServerResponse } from "node:http";
import { OciError } from "@berth/oci";
import type { MemoryBudget } from "./memory-budget.js";

/**
 * Reads a small request body (a manifest) into memory, refusing more than `limit` bytes with 413.
 * The bytes are reserved from `budget` until the response is done, so concurrent large bodies
 * wait their turn instead of multiplying memory.
 */
export async function readBody(req: IncomingMessage, res: ServerResponse, limit: number, budget: MemoryBudget): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limit) {
    // Within the drain allowance the body is read and dropped, so the client reads its 413.
    if (declared - limit <= OVERSIZE_DRAIN_BYTES) dropRest(req, 0);
    throw tooLarge(limit);
  }
  const gone = new AbortController();
  const onClose = () => gone.abort(Object.assign(new Error("client went away while waiting"), { code: "ECONNABORTED" }));
  res.once("close", onClose);
  // A chunked body may be anything up to the limit: it reserves the limit.
  const expected = !hasBody(req) ? 0 : Number.isNaN(declared) ? limit : declared;
  const release = await budget.reserve(expected, gone.signal);
  res.off("close", onClose);
  res.once("close", release);
  return collect(req, limit);
}

/**
 * What a body over the limit may still send, read and dropped, before its connection is cut: the
 * 413 is answered at once, but a client still writing (fetch/undici, most HTTP libraries) only
 * reads it if its writes keep being taken; closing the socket under them fails the request with
 * EPIPE or a reset instead of the 413 (issue 16 finding 6).
 */
export const OVERSIZE_DRAIN_BYTES = 64 * 1024 * 1024;

/** Requests whose oversized body is being read and dropped: their answer keeps the connection. */
const draining = new WeakSet<IncomingMessage>();

/** True while `req`'s body is over the limit and being drained (see OVERSIZE_DRAIN_BYTES). */
export function isDrainingBody(req: IncomingMessage): boolean {
  return draining.has(req);
}

/**
 * Reads and drops the rest of `req`'s body, `read` bytes of it already taken, for a 413 that keeps
 * the connection; past OVERSIZE_DRAIN_BYTES the socket is destroyed, so a hostile sender cannot
 * keep a connection busy forever.
 */
function dropRest(req: IncomingMessage, read: number): void {
  draining.add(req);
  let dropped = read;
  const done = () => draining.delete(req);
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > OVERSIZE_DRAIN_BYTES && draining.has(req)) {
      done();
      req.socket.destroy();
    }
  });
  req.once("end", done);
  req.once("close", done);
}

/**
 * Not `for await`: leaving that loop early destroys the request. Past the limit the promise
 * rejects (413) and the rest of the body is dropped (dropRest).
 */
function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off("data", onData);
      chunks.length = 0;
      dropRest(req, size - limit);
      reject(tooLarge(limit));
    };
    req.on("data", onData);
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(Object.assign(new Error("client closed the request"), { code: "ECONNRESET" }));
    });
  });
}

function tooLarge(limit: number): OciError {
  return new OciError("SIZE_INVALID", "payload too large", { status: 413, detail: { limit } });
}

/** True when the request carries a body (a chunk to append). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return Number(length) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

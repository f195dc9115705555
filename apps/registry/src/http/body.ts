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
  if (declared > limit) throw tooLarge(limit);
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
 * Not `for await`: leaving that loop early destroys the request, and with it the socket, so a
 * client sending a chunked body over the limit saw a reset instead of the 413. Past the limit the
 * rest is read and dropped; the error answer then closes the connection.
 */
function collect(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (over) return;
      if (size <= limit) chunks.push(chunk);
      else {
        over = true;
        chunks.length = 0;
        reject(tooLarge(limit));
      }
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

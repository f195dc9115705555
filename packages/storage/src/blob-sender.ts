import type { FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";

/**
 * Copies a byte range of an open file into a writable (an HTTP response) through reused buffers,
 * holding only what the socket is ready to take.
 *
 * Why not `createReadStream` + `pipeline`: that allocates a fresh buffer per chunk, and on this
 * path (GB/s of blob downloads) the allocations, page faults and GC they cause cost more CPU than
 * the copy itself. Here buffers come from a small process-wide pool and are reused.
 *
 * Why small chunks: whatever the socket has not yet taken stays pinned in memory for as long as
 * the client does not read. A transfer therefore writes one CHUNK_BYTES buffer at a time and
 * writes the next only after the socket took the previous one (its write callback: the
 * backpressure). To keep disk reads large on fast sockets, it reads up to READ_BATCH chunks in
 * one `readv`; the batch doubles while the socket keeps up and drops to one chunk when a write
 * has to wait, and the read-ahead of a waiting transfer goes back to the pool (re-read later from
 * the page cache). A stalled download so holds one chunk, not a megabyte.
 */
const CHUNK_BYTES = 32 * 1024;
/** Chunks per disk read while the socket keeps up (512 KiB reads). */
const READ_BATCH = 16;
/**
 * Read-ahead buffers (a batch's chunks after the first) out at once, process-wide: many clients
 * starting at once must not allocate 512 KiB each before their sockets push back.
 */
const MAX_READ_AHEAD = 16 * (READ_BATCH - 1);
/** Idle buffers kept for the next downloads. */
const MAX_POOLED = MAX_READ_AHEAD + 16;

const pool: Buffer[] = [];
let readAheadOut = 0;

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < MAX_POOLED) pool.push(buffer);
}

/** The destination went away (client disconnected) before the range was sent. */
export class BlobSendAbortedError extends Error {
  override readonly name = "BlobSendAbortedError";
}

/** Sends bytes `start`..`end` (inclusive) of `file` to `out`; does not end `out`. */
export async function sendFileRange(file: FileHandle, out: Writable, start: number, end: number): Promise<void> {
  const closed = new Promise<"closed">((resolve) => out.once("close", () => resolve("closed")));
  let position = start;
  let batch = 1;
  while (position <= end) {
    const buffers = takeBatch(batch, end - position + 1);
    let sent: { bytes: number; waited: boolean };
    try {
      const bytesRead = await readBatch(file, buffers, position, end - position + 1);
      if (bytesRead === 0) {
        buffers.forEach(giveBack);
        throw new Error(`blob file ended at ${position}, before ${end + 1}`);
      }
      sent = await writeBatch(out, buffers, bytesRead, closed);
    } finally {
      readAheadOut -= buffers.length - 1;
    }
    position += sent.bytes;
    batch = sent.waited ? 1 : Math.min(batch * 2, READ_BATCH);
  }
}

/** The first chunk always; read-ahead while the process-wide allowance lasts. */
function takeBatch(count: number, remaining: number): Buffer[] {
  const wanted = Math.min(count, Math.ceil(remaining / CHUNK_BYTES));
  const readAhead = Math.max(0, Math.min(wanted - 1, MAX_READ_AHEAD - readAheadOut));
  readAheadOut += readAhead;
  return Array.from({ length: 1 + readAhead }, takeBuffer);
}

/** Reads at most `wanted` bytes at `position` into `buffers`, in order. */
async function readBatch(file: FileHandle, buffers: Buffer[], position: number, wanted: number): Promise<number> {
  try {
    if (buffers.length === 1) return (await file.read(buffers[0]!, 0, Math.min(CHUNK_BYTES, wanted), position)).bytesRead;
    const last = wanted - (buffers.length - 1) * CHUNK_BYTES;
    const views = last < CHUNK_BYTES ? [...buffers.slice(0, -1), buffers[buffers.length - 1]!.subarray(0, last)] : buffers;
    return (await file.readv(views, position)).bytesRead;
  } catch (err) {
    buffers.forEach(giveBack);
    throw err;
  }
}

/**
 * Writes the `bytesRead` bytes held in `buffers`, one buffer at a time. When a write is not taken
 * at once, the unwritten read-ahead goes back to the pool and only what was sent is reported.
 */
async function writeBatch(
  out: Writable,
  buffers: Buffer[],
  bytesRead: number,
  closed: Promise<"closed">,
): Promise<{ bytes: number; waited: boolean }> {
  let sent = 0;
  let i = 0;
  for (; i < buffers.length && sent < bytesRead; i++) {
    const buffer = buffers[i]!;
    const length = Math.min(CHUNK_BYTES, bytesRead - sent);
    const written = writeChunk(out, length === CHUNK_BYTES ? buffer : buffer.subarray(0, length));
    let outcome = await Promise.race([written, closed, nextTurn()]);
    if (outcome === "waiting") {
      buffers.slice(i + 1).forEach(giveBack);
      outcome = await Promise.race([written, closed]);
      // On failure the buffer may still be referenced by the pending socket write: never reuse it.
      settled(outcome);
      giveBack(buffer);
      return { bytes: sent + length, waited: true };
    }
    if (outcome !== null) buffers.slice(i + 1).forEach(giveBack);
    settled(outcome);
    giveBack(buffer);
    sent += length;
  }
  buffers.slice(i).forEach(giveBack); // a short read near the end of the file
  return { bytes: sent, waited: false };
}

/** `null` once the socket took the chunk; the error when the write failed. Never rejects. */
type WriteOutcome = Error | null;

function writeChunk(out: Writable, chunk: Buffer): Promise<WriteOutcome> {
  return new Promise((resolve) => {
    out.write(chunk, (err) => resolve(err ?? null));
  });
}

/** Resolves after pending I/O callbacks ran: a write the kernel took at once has called back by then. */
function nextTurn(): Promise<"waiting"> {
  return new Promise((resolve) => setImmediate(resolve, "waiting"));
}

function settled(outcome: WriteOutcome | "closed"): void {
  if (outcome === "closed") throw new BlobSendAbortedError("the client went away");
  if (outcome) throw outcome;
}

import type { FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";

/**
 * Copies a byte range of an open file into a writable (an HTTP response) through reused buffers.
 *
 * Why not `createReadStream` + `pipeline`: that allocates a fresh buffer per chunk, and on this
 * path (GB/s of blob downloads) the allocations, page faults and GC they cause cost more CPU than
 * the copy itself. Here each transfer keeps at most SLOTS chunks in flight: a slot's buffer is read
 * into again only after the socket has taken its previous contents (the write callback), which is
 * also the backpressure. Buffers come from a small process-wide pool, so memory stays bounded by
 * concurrent downloads × SLOTS × CHUNK_BYTES (512 KiB measured as fast as 1–2 MiB).
 */
const CHUNK_BYTES = 512 * 1024;
/** Two slots: one being read from disk while the other is written to the socket. */
const SLOTS = 2;
/** Idle buffers kept for the next downloads (16 concurrent downloads × 2 slots). */
const MAX_POOLED = 32;

const pool: Buffer[] = [];

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
  const slots: { buffer: Buffer; written: Promise<WriteOutcome> | undefined }[] = [];
  let completed = false;
  try {
    let position = start;
    for (let i = 0; position <= end; i++) {
      const slot = slots[i % SLOTS] ?? { buffer: takeBuffer(), written: undefined };
      slots[i % SLOTS] = slot;
      if (slot.written) settled(await Promise.race([slot.written, closed]));
      const want = Math.min(slot.buffer.length, end - position + 1);
      const { bytesRead } = await file.read(slot.buffer, 0, want, position);
      if (bytesRead === 0) throw new Error(`blob file ended at ${position}, before ${end + 1}`);
      position += bytesRead;
      slot.written = writeChunk(out, slot.buffer.subarray(0, bytesRead));
    }
    for (const slot of slots) if (slot.written) settled(await Promise.race([slot.written, closed]));
    completed = true;
  } finally {
    // After a failure a buffer may still be referenced by a pending socket write: never reuse it.
    if (completed) for (const slot of slots) giveBack(slot.buffer);
  }
}

/** `null` once the socket took the chunk; the error when the write failed. Never rejects. */
type WriteOutcome = Error | null;

function writeChunk(out: Writable, chunk: Buffer): Promise<WriteOutcome> {
  return new Promise((resolve) => {
    out.write(chunk, (err) => resolve(err ?? null));
  });
}

function settled(outcome: WriteOutcome | "closed"): void {
  if (outcome === "closed") throw new BlobSendAbortedError("the client went away");
  if (outcome) throw outcome;
}

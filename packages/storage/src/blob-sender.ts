import type { FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";

/**
 * Copies a byte range of an open file into a writable (an HTTP response) through reused buffers,
 * holding only what the socket is ready to take.
 *
 * Why not `createReadStream` + `pipeline`: that allocates a fresh buffer per chunk, and on this
 * path (GB/s of blob downloads) the allocations, page faults and GC they cause cost more CPU than
 * the copy itself. Here buffers come from small process-wide pools and are reused.
 *
 * One buffer per transfer, read then written whole; the next read starts once the socket took it
 * (its write callback: the backpressure). A buffer the socket has not taken stays pinned for as
 * long as the client does not read, so its size is bounded process-wide: a transfer starts with
 * SMALL_BYTES and moves to LARGE_BYTES (disk reads and socket writes of 512 KiB: a few syscalls
 * per MB instead of 32) once its client has taken writes within the same turn of the event loop,
 * while the process-wide allowance (LARGE_ALLOWANCE) lasts; transfers that find it spent go on
 * with small buffers. A thousand clients that stall at once pin 32 KiB each, plus at most the
 * allowance (8 MiB). The idle pool keeps a whole allowance of large buffers: at full speed each
 * chunk reuses one instead of allocating (and page-faulting) 512 KiB.
 */
const SMALL_BYTES = 32 * 1024;
const LARGE_BYTES = 512 * 1024;
/** Writes taken at once before a transfer moves to large buffers (its client reads at all). */
const TAKEN_BEFORE_LARGE = 2;
/** Large buffers out at once, process-wide (16 full-speed transfers: 8 MiB). */
const LARGE_ALLOWANCE = 16;
/** Idle buffers kept for the next transfers. */
const MAX_POOLED = { small: 32, large: LARGE_ALLOWANCE };

const small: Buffer[] = [];
const large: Buffer[] = [];
let largeOut = 0;

/** A large buffer while the process-wide allowance lasts, else a small one. */
function takeBuffer(wantLarge: boolean): Buffer {
  if (wantLarge && largeOut < LARGE_ALLOWANCE) {
    largeOut++;
    return large.pop() ?? Buffer.allocUnsafeSlow(LARGE_BYTES);
  }
  return small.pop() ?? Buffer.allocUnsafeSlow(SMALL_BYTES);
}

/**
 * Returns a buffer to its pool; `reusable` false when a failed socket write may still reference it
 * (then it only leaves the allowance, and the garbage collector frees it once the socket lets go).
 */
function giveBack(buffer: Buffer, reusable = true): void {
  const isLarge = buffer.length === LARGE_BYTES;
  if (isLarge) largeOut--;
  if (!reusable) return;
  const pool = isLarge ? large : small;
  if (pool.length < (isLarge ? MAX_POOLED.large : MAX_POOLED.small)) pool.push(buffer);
}

/** Large buffers out now, process-wide (tests: the allowance holds, and aborted transfers return theirs). */
export function largeBuffersOut(): number {
  return largeOut;
}

/** The destination went away (client disconnected) before the range was sent. */
export class BlobSendAbortedError extends Error {
  override readonly name = "BlobSendAbortedError";
}

/** Sends bytes `start`..`end` (inclusive) of `file` to `out`; does not end `out`. */
export async function sendFileRange(file: FileHandle, out: Writable, start: number, end: number): Promise<void> {
  const writer = new ChunkWriter(out);
  try {
    let position = start;
    let taken = 0;
    while (position <= end) {
      const buffer = takeBuffer(taken >= TAKEN_BEFORE_LARGE && end - position + 1 > SMALL_BYTES);
      let outcome: WriteOutcome;
      try {
        const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - position + 1), position);
        if (bytesRead === 0) throw new Error(`blob file ended at ${position}, before ${end + 1}`);
        outcome = await writer.write(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
        position += bytesRead;
      } catch (err) {
        giveBack(buffer);
        throw err;
      }
      // On failure the buffer may still be referenced by the pending socket write: never reuse it.
      giveBack(buffer, outcome === "taken" || outcome === "waited");
      if (outcome === "closed") throw new BlobSendAbortedError("the client went away");
      if (outcome instanceof Error) throw outcome;
      if (outcome === "taken") taken++;
    }
  } finally {
    writer.dispose();
  }
}

/** `taken`: the socket took the chunk within the turn; `waited`: later; else why it failed. */
type WriteOutcome = "taken" | "waited" | "closed" | Error;

/**
 * Writes one chunk at a time and settles when the socket took it. One `close` listener for the
 * whole transfer (not one promise race per chunk, whose reactions would pile up on a promise that
 * settles only at the end: megabytes for a gigabyte sent in small chunks).
 */
class ChunkWriter {
  private settle: ((outcome: WriteOutcome) => void) | undefined;
  private closed = false;
  private readonly onClose = () => {
    this.closed = true;
    this.settle?.("closed");
  };

  constructor(private readonly out: Writable) {
    out.once("close", this.onClose);
  }

  write(chunk: Buffer): Promise<WriteOutcome> {
    if (this.closed) return Promise.resolve("closed");
    return new Promise((resolve) => {
      let turned = false;
      // A write the kernel takes at once calls back before the event loop's check phase.
      const turn = setImmediate(() => {
        turned = true;
      });
      this.settle = (outcome) => {
        this.settle = undefined;
        clearImmediate(turn);
        resolve(outcome);
      };
      this.out.write(chunk, (err) => this.settle?.(err ?? (turned ? "waited" : "taken")));
    });
  }

  dispose(): void {
    this.out.removeListener("close", this.onClose);
  }
}

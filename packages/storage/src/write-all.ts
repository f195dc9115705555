import { write } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { promisify } from "node:util";

const writeFd = promisify(write);

/** One write call: bytes [offset, offset + length) of the data, at `position` (null: the file's current offset). */
type WriteSome = (offset: number, length: number, position: number | null) => Promise<{ bytesWritten: number }>;

export class ShortWriteError extends Error {
  override readonly name = "ShortWriteError";
  readonly code = "EIO";
  constructor(written: number, total: number) {
    super(`the file took ${written} of ${total} bytes and then none`);
  }
}

/**
 * Writes every byte. A write to a regular file may take fewer bytes than asked (a signal, a quota,
 * a network filesystem); the rest must follow at the right place, or the file keeps a hole where a
 * record was meant to be. A write that takes nothing would loop forever: an error instead.
 */
export async function writeAll(writeSome: WriteSome, data: Uint8Array, position: number | null): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await writeSome(done, data.length - done, position === null ? null : position + done);
    if (bytesWritten <= 0) throw new ShortWriteError(done, data.length);
    done += bytesWritten;
  }
}

export function writeAllFd(fd: number, data: Uint8Array, position: number | null = null): Promise<void> {
  return writeAll((offset, length, at) => writeFd(fd, data, offset, length, at), data, position);
}

export function writeAllHandle(file: FileHandle, data: Uint8Array, position: number | null = null): Promise<void> {
  return writeAll((offset, length, at) => file.write(data, offset, length, at), data, position);
}

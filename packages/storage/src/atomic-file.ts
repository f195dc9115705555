import { createWriteStream } from "node:fs";
import type { Dirent } from "node:fs";
import { access, readdir, utimes } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * Streams `source` into `file` (created, or appended to with `append`), calling `onChunk` for each
 * chunk so the caller hashes while writing; fsyncs before resolving. Never buffers the whole body.
 */
export async function streamToFile(
  source: AsyncIterable<Uint8Array> | Readable,
  file: string,
  onChunk: (chunk: Uint8Array) => void,
  options: { append?: boolean } = {},
): Promise<void> {
  // `flush: true` fsyncs the descriptor before it is closed (Node >= 20.10).
  const sink = createWriteStream(file, { flags: options.append ? "a" : "w", flush: true, highWaterMark: 1 << 20 });
  await pipeline(
    source,
    async function* tap(chunks: AsyncIterable<Uint8Array>) {
      for await (const chunk of chunks) {
        onChunk(chunk);
        yield chunk;
      }
    },
    sink,
  );
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** A directory's entries; none when it does not exist (any other error is thrown). */
export async function listDirectory(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Whether `path` exists; any error but "not found" is thrown (a permission problem is not "no"). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Sets `path`'s mtime to now: garbage collection spares blobs younger than its delay, so a blob a
 * push is about to use (mounted, re-uploaded, a manifest pushed again) must look young. False when
 * the file is gone (collected an instant ago: the caller writes it again).
 */
export async function touch(path: string): Promise<boolean> {
  const now = new Date();
  try {
    await utimes(path, now, now);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

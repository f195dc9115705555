import { createWriteStream } from "node:fs";
import { access, mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { tempPathFor } from "./paths.js";

/** Writes `data` to `target` atomically: temp file in the same directory, fsync, rename. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const temp = tempPathFor(target);
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

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

/** Renames `from` to `to`, creating the target directory when needed. */
export async function moveInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    await mkdir(dirname(to), { recursive: true });
    await rename(from, to);
  }
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
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

/** fsyncs a directory, so that a rename or a new file in it survives a power loss. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The durable writes the tag log and index.json's writer need (a seam for the write layer). */
export interface StateFiles {
  writeFile(target: string, data: Uint8Array | string): Promise<void>;
  syncDirectory(dir: string): Promise<void>;
}

export const stateFiles: StateFiles = { writeFile: writeFileAtomic, syncDirectory };

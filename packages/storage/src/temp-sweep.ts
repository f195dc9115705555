import { stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { isNotFound, listDirectory } from "./atomic-file.js";
import { UPLOADS_DIR, isTempFileName } from "./paths.js";

export interface SweepOptions {
  /**
   * Only temp files untouched for this long go: a write in flight (another process on the same
   * root, a slow streamed upload) keeps touching its temp file. Default 60 s.
   */
  minAgeMs?: number;
  now?: () => number;
}

export interface SweepResult {
  /** Paths removed, relative to the root. */
  removed: string[];
}

const MAX_DEPTH = 40;

/**
 * Removes the temp files a failed or interrupted write left behind (`*.<hex>.tmp` beside
 * index.json, in `blobs/<alg>/` and `.uploads/`): a process killed mid-write, or a write that
 * failed in a way its own clean-up could not undo. Never touches anything else.
 */
export async function sweepTemporaryFiles(root: string, options: SweepOptions = {}): Promise<SweepResult> {
  const minAgeMs = options.minAgeMs ?? 60_000;
  const now = (options.now ?? Date.now)();
  const removed: string[] = [];
  const visit = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    for (const entry of await listDirectory(dir)) {
      const path = join(dir, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Berth's other dot-directories (.berth/: the outbox journal) are not storage's.
        if (entry.name.startsWith(".") && entry.name !== UPLOADS_DIR) continue;
        await visit(path, relPath, depth + 1);
      } else if (entry.isFile() && isTempFileName(entry.name) && (await isOlder(path, now - minAgeMs))) {
        try {
          await unlink(path);
          removed.push(relPath);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
  };
  await visit(root, "", 0);
  return { removed };
}

async function isOlder(path: string, cutoff: number): Promise<boolean> {
  try {
    return (await stat(path)).mtimeMs <= cutoff;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

import { statfs } from "node:fs/promises";

export interface DiskSpace {
  freeBytes: number;
  minFreeBytes: number;
  /** Fewer free bytes than `minFreeBytes`: pushes are about to fail with ENOSPC. */
  low: boolean;
}

/** Checked at most this often: `/healthz` may be polled every second by several probes. */
const MAX_AGE_MS = 2000;

/**
 * The free space of the storage root's file system for `/healthz`, or undefined when the check
 * is off (`minFreeBytes` 0) or statfs fails (not every file system answers it).
 */
export function createDiskSpaceCheck(root: string, minFreeBytes: number): () => Promise<DiskSpace | undefined> {
  let last: { at: number; value: DiskSpace | undefined } | undefined;
  return async () => {
    if (minFreeBytes === 0) return undefined;
    if (last && Date.now() - last.at < MAX_AGE_MS) return last.value;
    let value: DiskSpace | undefined;
    try {
      const stats = await statfs(root);
      const freeBytes = stats.bavail * stats.bsize;
      value = { freeBytes, minFreeBytes, low: freeBytes < minFreeBytes };
    } catch {
      value = undefined;
    }
    last = { at: Date.now(), value };
    return value;
  };
}

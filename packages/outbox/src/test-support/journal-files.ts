import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { journalDirectory } from "../journal.js";

/**
 * Every journal segment under a storage root, as paths: those in each replica's directory and any
 * left in the layout before per-replica directories, oldest name first within a directory.
 */
export async function journalSegments(root: string): Promise<string[]> {
  const top = journalDirectory(root);
  const found: string[] = [];
  for (const entry of (await readdir(top, { withFileTypes: true }).catch(() => [])).sort((x, y) => x.name.localeCompare(y.name))) {
    if (entry.isFile() && entry.name.startsWith("segment-")) found.push(join(top, entry.name));
    if (entry.isDirectory() && !entry.name.startsWith(".")) {
      for (const name of (await readdir(join(top, entry.name))).sort()) if (name.startsWith("segment-")) found.push(join(top, entry.name, name));
    }
  }
  return found;
}

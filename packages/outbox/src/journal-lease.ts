import { open, readFile, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { leaseToken } from "@berth/storage";

/** The file in a journal directory that names the process holding it. */
export const LEASE_FILE = "lease";

/** Whether `err` is a Node system error with one of `codes`. */
export function isCode(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException).code ?? "");
}

/**
 * One process's hold on a journal directory: `<dir>/lease`, created exclusively, holding a token
 * in storage's lease-lock format (host:pid and a unique id). The holder touches its mtime every
 * third of a lease; a peer that sees content and mtime unchanged for a whole lease (or, on the same
 * machine, the holder's process gone) breaks it with an atomic rename and may take it (see
 * replica-journals.ts).
 */
export class JournalLease {
  private lost = false;

  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Takes the lease of `dir` when nobody holds it; undefined when another process does (or the directory is gone). */
  static async tryTake(dir: string): Promise<JournalLease | undefined> {
    const path = join(dir, LEASE_FILE);
    const token = leaseToken();
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(path, "wx");
    } catch (err) {
      if (isCode(err, "EEXIST", "ENOENT")) return undefined;
      throw err;
    }
    try {
      await file.writeFile(token);
      // Durable, so that after a power loss a restarted replica can read whose lease it was (a
      // holder gone from this machine is adopted at once; an empty lease only after a whole lease).
      // Its directory entry is fsync'd with the journal's first segment, before anything needs it.
      await file.sync();
    } finally {
      await file.close();
    }
    return new JournalLease(path, token);
  }

  /**
   * Whether the lease is ours now. Asked after every fsync'd journal write: a peer adopts a
   * directory only after renaming its lease away, so if the file still holds our token, any
   * adopter reads the segments after that write landed and relays it.
   */
  async held(): Promise<boolean> {
    if (this.lost) return false;
    const content = await readFile(this.path, "utf8").catch((err: unknown) => {
      if (isCode(err, "ENOENT")) return undefined;
      throw err;
    });
    if (content !== this.token) this.lost = true;
    return !this.lost;
  }

  /** Touches the mtime while the lease is ours; false once a peer broke it. */
  async renew(): Promise<boolean> {
    if (!(await this.held())) return false;
    const now = new Date();
    await utimes(this.path, now, now);
    return true;
  }

  /** Gives the directory up (a peer may take it at once); never removes a lease a peer took over. */
  async release(): Promise<void> {
    if (!(await this.held().catch(() => false))) return;
    this.lost = true;
    await unlink(this.path).catch((err: unknown) => {
      if (!isCode(err, "ENOENT")) throw err;
    });
  }
}

import { type Stats, closeSync, fsync as fsyncCallback, open as openCallback, openSync } from "node:fs";
import { type FileHandle, copyFile, link, mkdir, open, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { isNotFound } from "./atomic-file.js";
import { tempPathFor } from "./paths.js";
import { writeAllFd } from "./write-all.js";

/**
 * A change to the tree, reported once it completed, in order. `sync-dir-start` / `sync-dir` bracket
 * one directory fsync: only a sync that started after a change makes that change durable.
 */
export type FsChange =
  | { op: "create" | "mkdir" | "unlink"; path: string }
  | { op: "rename" | "link"; from: string; to: string }
  | { op: "sync-dir-start" | "sync-dir"; path: string; id: number };

export interface DurableFsOptions {
  /** Called after each change (tests record the order of changes, syncs and answers). */
  observe?: (change: FsChange) => void;
  /**
   * false skips every directory fsync, so a power loss can lose acknowledged writes. Only for the
   * bench's before/after comparison; never set by the registry's configuration.
   */
  syncDirectories?: boolean;
  /**
   * The root is on a local filesystem (coherent-stat.ts): opening a directory to fsync it and
   * closing it are done in place, so only the fsync itself goes through libuv's threadpool (one
   * round trip per directory sync instead of three, none of them queued behind other fsyncs). On a
   * network filesystem an open is a round trip to the server, never made on the event loop.
   */
  localFilesystem?: boolean;
}

const fsyncFd = promisify(fsyncCallback);
const openFd = promisify(openCallback);

interface DirSync {
  /** The fsync in flight, if any. */
  running?: Promise<void>;
  /** The fsync that starts when `running` ends: every request made meanwhile shares it. */
  next?: Promise<void>;
}

/**
 * Every write that makes an acknowledged state goes through here: file data fsync'd, renamed (or
 * linked, created, removed), then its directory fsync'd, because a rename or a new entry is on disk
 * only once the directory holding it is (fsync(2): "an explicit fsync() on a file descriptor for
 * the directory is also needed"). A new directory's parent is fsync'd the same way. Directory
 * fsyncs are group-committed per directory: the requests that arrive while one is in flight share
 * the next one, so concurrent blob pushes into `blobs/sha256` cost one fsync per round, not one each.
 */
export class DurableFs {
  private readonly dirs = new Map<string, DirSync>();
  private readonly creatingDirs = new Map<string, Promise<void>>();
  /** Directories with a change in flight or made but not yet fsync'd: count per directory. */
  private readonly unsynced = new Map<string, number>();
  private readonly observe: (change: FsChange) => void;
  private readonly syncDirs: boolean;
  private readonly local: boolean;
  private syncIds = 0;

  constructor(options: DurableFsOptions = {}) {
    this.observe = options.observe ?? (() => {});
    this.syncDirs = options.syncDirectories ?? true;
    this.local = options.localFilesystem ?? false;
  }

  /**
   * Writes `data` to `target` atomically and durably: temp file beside it, fsync, rename, fsync
   * dir. Creates the target's directory when it is missing.
   */
  async writeFile(target: string, data: Uint8Array | string): Promise<void> {
    await this.changing(dirname(target), () =>
      this.renameIntoPlace(target, async (temp) => {
        if (this.local) return this.fillInPlace(temp, data);
        const handle = await this.openNewFile(temp);
        try {
          await handle.writeFile(data);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }),
    );
  }

  /** Creates an empty file that must not exist yet (an upload session), durably, and its directory when missing. */
  createFile(path: string): Promise<void> {
    return this.changing(dirname(path), async () => {
      const handle = await this.openNewFile(path);
      await handle.close();
      this.observe({ op: "create", path });
    });
  }

  /** Renames a file whose data is already fsync'd into place, creating the target's directory when needed. */
  move(from: string, to: string): Promise<void> {
    return this.changing(dirname(to), async () => {
      await this.inDirectory(dirname(to), () => rename(from, to));
      this.observe({ op: "rename", from, to });
    });
  }

  /**
   * Makes `from`'s bytes available at `to`: a hard link (shared bytes, as zot's dedupe), or a copy
   * (temp, fsync, rename) where links are not possible. False when `from` is gone; true when `to`
   * already exists.
   */
  async linkOrCopy(from: string, to: string): Promise<boolean> {
    await this.ensureDirectory(dirname(to));
    const made = await this.changing(dirname(to), async () => {
      try {
        await link(from, to);
        this.observe({ op: "link", from, to });
        return "linked";
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EEXIST") return "existed";
        if (isNotFound(err)) return "gone";
        await this.copy(from, to);
        return "copied";
      }
    }, (made) => made === "linked" || made === "copied");
    // Another request may have made `to` an instant ago: answer only once it is durable.
    if (made === "existed") await this.awaitDurable(dirname(to));
    return made !== "gone";
  }

  /** Removes a file durably; false when it was not there. */
  remove(path: string): Promise<boolean> {
    return this.changing(dirname(path), async () => {
      try {
        await unlink(path);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
      this.observe({ op: "unlink", path });
      return true;
    }, (removed) => removed);
  }

  /**
   * Removes `path` unless `keep` holds for the file actually taken away: it is renamed aside first
   * (atomic), examined there, and linked back when `keep` says so. A caller that decided to remove
   * a file because it was old is thereby never fooled by a writer that touched or replaced it in
   * the meantime (garbage collection, upload expiry): the file examined is the file removed.
   */
  removeUnless(path: string, keep: (info: Stats) => boolean): Promise<{ removed: boolean; size: number }> {
    return this.changing(
      dirname(path),
      async () => {
        const aside = tempPathFor(path);
        try {
          await rename(path, aside);
        } catch (err) {
          if (isNotFound(err)) return { removed: false, size: 0, changed: false };
          throw err;
        }
        const info = await stat(aside);
        if (keep(info)) {
          // A newer file took the name meanwhile (EEXIST): it wins, the old one goes.
          await link(aside, path).catch((err: unknown) => {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
          });
          await unlink(aside);
          return { removed: false, size: info.size, changed: true };
        }
        await unlink(aside);
        this.observe({ op: "unlink", path });
        return { removed: true, size: info.size, changed: true };
      },
      (r) => r.changed,
    ).then(({ removed, size }) => ({ removed, size }));
  }

  /**
   * Resolves once every change made so far in `dir` (and the creation of `dir` and its parents)
   * is durable. For a caller that answers on the strength of an entry another request made an
   * instant ago: a manifest already stored, a blob another push is still committing.
   */
  awaitDurable(dir: string): Promise<void> {
    const waits: Promise<void>[] = [];
    for (let d = dir; ; d = dirname(d)) {
      if (this.unsynced.has(d)) waits.push(this.syncDirectory(d));
      if (dirname(d) === d) break;
    }
    return Promise.all(waits).then(() => undefined);
  }

  /** `mkdir -p` whose every new directory is durable: each one's parent is fsync'd after it. */
  ensureDirectory(dir: string): Promise<void> {
    // Callers racing to create one directory share the creation, so none answers before it is durable.
    const pending = this.creatingDirs.get(dir);
    if (pending) return pending;
    const creating = this.createDirectory(dir).finally(() => this.creatingDirs.delete(dir));
    this.creatingDirs.set(dir, creating);
    return creating;
  }

  /** fsyncs `dir`, sharing the fsync with every request that arrives while another one runs. */
  syncDirectory(dir: string): Promise<void> {
    if (!this.syncDirs) return Promise.resolve();
    let state = this.dirs.get(dir);
    if (!state) {
      state = {};
      this.dirs.set(dir, state);
    }
    if (!state.running) return this.startSync(dir, state);
    // One in flight may have started before the caller's change: wait for the next one.
    state.next ??= state.running.then(
      () => this.startSync(dir, state),
      () => this.startSync(dir, state),
    );
    return state.next;
  }

  private startSync(dir: string, state: DirSync): Promise<void> {
    state.next = undefined;
    const id = ++this.syncIds;
    const running = (async () => {
      this.observe({ op: "sync-dir-start", path: dir, id });
      await this.fsyncDirectory(dir);
      this.observe({ op: "sync-dir", path: dir, id });
    })();
    state.running = running;
    const settle = () => {
      if (state.running === running) state.running = undefined;
      if (!state.running && !state.next) this.dirs.delete(dir);
    };
    running.then(settle, settle);
    return running;
  }

  private async fsyncDirectory(dir: string): Promise<void> {
    if (this.local) {
      // Opening and closing a directory changes nothing on disk: microseconds, in place.
      const fd = openSync(dir, "r");
      try {
        await fsyncFd(fd);
      } finally {
        closeSync(fd);
      }
      return;
    }
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /**
   * Runs `change` (which alters entries of `dir`), then fsyncs `dir` unless `changed` says it
   * altered nothing (a file that was not there: its directory may not exist either). Until that
   * fsync is done, `dir` counts as unsynced: from before the change starts, so no one sees the
   * entry unmarked.
   */
  private async changing<T>(dir: string, change: () => Promise<T>, changed: (result: T) => boolean = () => true): Promise<T> {
    this.unsynced.set(dir, (this.unsynced.get(dir) ?? 0) + 1);
    try {
      const result = await change();
      // Nothing changed (removing a file that was not there), nothing to make durable; a directory
      // that does not exist holds no change either (a repository that was never created: 404).
      if (changed(result)) {
        await this.syncDirectory(dir).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      }
      return result;
    } finally {
      const left = (this.unsynced.get(dir) ?? 1) - 1;
      if (left > 0) this.unsynced.set(dir, left);
      else this.unsynced.delete(dir);
    }
  }

  /**
   * writeFile's temp file on a local filesystem: open, write and fsync through the threadpool, the
   * close (of a file whose data is on disk: nothing left to do) in place.
   */
  private async fillInPlace(temp: string, data: Uint8Array | string): Promise<void> {
    const fd = await this.inDirectory(dirname(temp), () => openFd(temp, "wx"));
    try {
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      await writeAllFd(fd, bytes);
      await fsyncFd(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Opens a new file for writing; its directory is created (durably) only when missing: one call when it exists. */
  openNewFile(path: string): Promise<FileHandle> {
    return this.inDirectory(dirname(path), () => open(path, "wx"));
  }

  /** Runs `make` (a new entry in `dir`); when `dir` is missing (ENOENT), creates it durably and runs `make` again. */
  private async inDirectory<T>(dir: string, make: () => Promise<T>): Promise<T> {
    try {
      return await make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      await this.ensureDirectory(dir);
      return make();
    }
  }

  private async createDirectory(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    // mkdir returns the first directory it made; every level from there down to `dir` is new.
    const created: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      created.unshift(d);
      if (d === first || dirname(d) === d) break;
    }
    for (const d of created) {
      this.observe({ op: "mkdir", path: d });
      await this.changing(dirname(d), async () => {});
    }
  }

  private copy(from: string, to: string): Promise<void> {
    return this.renameIntoPlace(to, async (temp) => {
      await copyFile(from, temp);
      const handle = await open(temp, "r+");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  /**
   * `fill` writes a temp file beside `target` and leaves its data fsync'd; it is then renamed over
   * `target`. ENOSPC and friends: the temp file never outlives a failure.
   */
  private async renameIntoPlace(target: string, fill: (temp: string) => Promise<void>): Promise<void> {
    const temp = tempPathFor(target);
    try {
      await fill(temp);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    this.observe({ op: "rename", from: temp, to: target });
  }
}

import { closeSync, fdatasync, fstatSync, ftruncate, openSync, statSync } from "node:fs";
import { type FileHandle, open, readFile, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { isNotFound } from "./atomic-file.js";
import type { DurableFs } from "./durable-fs.js";
import { KeyedMutex } from "./keyed-mutex.js";
import type { HeldLock, LeaseLocks } from "./lease-lock.js";
import { emptyIndex, parseIndex } from "./oci-index.js";
import { indexPath, lockPath, tagLogPath } from "./paths.js";
import { type IndexRecord, RepositoryIndex } from "./repository-index.js";
import { HEADER_READ_BYTES, headerLine, newHeader, parseHeader, parseLines, recordLine } from "./tag-log.js";
import { writeAllFd, writeAllHandle } from "./write-all.js";

/** Work to do once a batch is durable, keyed by blob digest so a later op of the batch can cancel it. */
export interface Batch {
  readonly blobDeletes: Map<string, () => Promise<unknown>>;
}

/** One write: reads the up-to-date index, returns the records to append and its caller's result. */
export type IndexOp<T> = (index: RepositoryIndex, batch: Batch) => Promise<{ records: IndexRecord[]; value: T }>;

/** Where a cached state stands in tags.log. */
interface LogCursor {
  ino: number;
  /**
   * The file's ctime when it was last read or appended to by us: with ino and size it tells the
   * file apart from another one (an inode number reused after a compaction) without reading it.
   */
  ctimeMs: number;
  gen: string;
  /** Bytes of the file applied (always at a line end). */
  offset: number;
  /** The repository's change count at `offset` (base + counted lines). */
  seq: number;
  /** Lines in the current file (snapshot included): compaction's trigger. */
  lines: number;
  /** The file holds a torn last line (a writer died mid-append): the next append overwrites it. */
  torn: boolean;
}

interface Cached {
  index: RepositoryIndex;
  /** Set when tags.log is the truth; otherwise index.json is (a zot repository never written by Berth). */
  log?: LogCursor;
  legacy?: { ino: number; size: number; mtimeMs: number };
  /** Entries counted towards the cache bound. */
  counted: number;
}

interface Pending {
  op: IndexOp<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface RepositoryIndexesOptions {
  /** Called after a batch changed a repository's log, and with each freshly loaded position. */
  onChange?: (repo: string, seq: number, loaded: boolean) => void;
  /** States kept in memory, counted in manifests + tags over all repositories (LRU). */
  maxCachedEntries?: number;
  /** The durable write layer (temp + fsync + rename + directory fsync). */
  files: DurableFs;
  /**
   * The root is on a local filesystem (coherent-stat.ts): a stat is never stale, so reads
   * revalidate with one stat, and opening and closing tags.log to append are done in place.
   */
  localFilesystem?: boolean;
}

/**
 * Every repository's manifests and tags, kept consistent across registry processes that share the
 * root. Reads revalidate the cached state with one open+fstat of tags.log and apply only the bytes
 * other replicas appended since. Writes are group-committed per repository: the batch takes the
 * repository's lease lock, catches up, runs its ops in order, appends their records in one write
 * and fdatasyncs before any of them is answered. Cost per write: constant in the number of tags.
 */
export class RepositoryIndexes {
  private readonly cache = new Map<string, Cached>();
  private cachedEntries = 0;
  private readonly refresh = new KeyedMutex();
  private readonly nextRefresh = new Map<string, Promise<RepositoryIndex>>();
  private readonly queues = new Map<string, Pending[]>();
  private readonly files: DurableFs;

  constructor(
    private readonly root: string,
    private readonly locks: LeaseLocks,
    private readonly options: RepositoryIndexesOptions,
  ) {
    this.files = options.files;
  }

  /** The repository's current state (shared: callers must not mutate it). */
  read(repo: string): Promise<RepositoryIndex> {
    // Readers that arrive while a refresh is queued but not started share it: it starts after them.
    const queued = this.nextRefresh.get(repo);
    if (queued) return queued;
    const next: Promise<RepositoryIndex> = this.refresh.run(repo, () => {
      if (this.nextRefresh.get(repo) === next) this.nextRefresh.delete(repo);
      return this.current(repo);
    });
    this.nextRefresh.set(repo, next);
    return next;
  }

  /** The state and its log position, for index.json's writer; runs `use` without yielding. */
  snapshot<T>(repo: string, use: (index: RepositoryIndex, seq: number | undefined) => T): Promise<T> {
    return this.refresh.run(repo, async () => {
      const index = await this.current(repo);
      return use(index, this.cache.get(repo)?.log?.seq);
    });
  }

  /** Writes queued for the repository's next batch; undefined when none is being committed (tests). */
  waiting(repo: string): number | undefined {
    return this.queues.get(repo)?.length;
  }

  update<T>(repo: string, op: IndexOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.queues.get(repo);
      const pending = { op, resolve: resolve as (v: unknown) => void, reject };
      if (queue) {
        queue.push(pending);
        return;
      }
      queue = [pending];
      this.queues.set(repo, queue);
      void this.drain(repo, queue);
    });
  }

  private async drain(repo: string, queue: Pending[]): Promise<void> {
    // Bounded: each turn takes the queue as it is; new work arrives only from new requests.
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      try {
        await this.locks.run(lockPath(this.root, repo), (held) => this.refresh.run(repo, () => this.commit(repo, held, batch)));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.queues.delete(repo);
  }

  private async commit(repo: string, held: HeldLock, batch: Pending[]): Promise<void> {
    let cached = await this.load(repo);
    if (!cached.log) cached = await this.seed(repo, cached);
    const log = cached.log!;
    const context: Batch = { blobDeletes: new Map() };
    const lines: string[] = [];
    const done: Array<{ p: Pending; value: unknown }> = [];
    for (const p of batch) {
      try {
        const { records, value } = await p.op(cached.index, context);
        for (const record of records) {
          cached.index.apply(record);
          lines.push(recordLine(record));
        }
        done.push({ p, value });
      } catch (err) {
        p.reject(err);
      }
    }
    if (lines.length > 0) {
      try {
        // A writer whose lease lapsed (stalled past it) must not append after its successor.
        await held.check();
        await this.append(repo, log, lines);
      } catch (err) {
        this.forget(repo);
        throw err;
      }
      this.account(repo, cached);
    }
    // After the records are durable (a crash before this leaves an unreferenced blob, never a
    // manifest without its bytes) and before the answers (a removal is durable when answered).
    if (context.blobDeletes.size > 0) {
      // Removals without a record (garbage collection) must not run after a successor took the lock either.
      if (lines.length === 0) await held.check();
      // Together: a collection removes many blobs, and their directory fsyncs are group-committed.
      await Promise.all([...context.blobDeletes.values()].map((remove) => remove().catch(() => undefined)));
    }
    for (const { p, value } of done) p.resolve(value);
    if (lines.length > 0) {
      if (log.lines > 2 * cached.index.size + 1024) await this.compact(repo, cached);
      this.options.onChange?.(repo, log.seq, false);
    }
  }

  private async append(repo: string, log: LogCursor, lines: string[]): Promise<void> {
    const data = Buffer.from(lines.join(""));
    if (this.options.localFilesystem) await appendInPlace(tagLogPath(this.root, repo), log, data);
    else {
      const file = await open(tagLogPath(this.root, repo), "r+");
      try {
        // A torn last line was never acknowledged (its writer died before fdatasync returned).
        if (log.torn) await file.truncate(log.offset);
        // Positional, not O_APPEND: appends are not atomic across NFS clients; the lock orders us.
        await writeAllHandle(file, data, log.offset);
        await file.datasync();
        log.ctimeMs = (await file.stat()).ctimeMs;
      } finally {
        await file.close();
      }
    }
    log.offset += data.length;
    log.seq += lines.length;
    log.lines += lines.length;
    log.torn = false;
  }

  /** The up-to-date cached state; caller holds the repository's refresh turn. */
  private async current(repo: string): Promise<RepositoryIndex> {
    return (await this.load(repo)).index;
  }

  private async load(repo: string): Promise<Cached> {
    const cached = this.cache.get(repo);
    if (cached?.log && this.options.localFilesystem && this.unchanged(repo, cached.log)) {
      this.touch(repo, cached);
      return cached;
    }
    let file: FileHandle;
    try {
      // open (not stat): NFS revalidates attributes on open (close-to-open consistency).
      file = await open(tagLogPath(this.root, repo), "r");
    } catch (err) {
      if (isNotFound(err)) return this.loadLegacy(repo);
      throw err;
    }
    try {
      const info = await file.stat();
      const log = cached?.log;
      if (cached && log && log.ino === info.ino && info.size >= log.offset) {
        // Same size and ctime: nothing changed. Otherwise the header tells whether it is the same file.
        if ((info.size === log.offset && info.ctimeMs === log.ctimeMs) || (await this.catchUp(file, log, cached.index, info.size))) {
          log.ctimeMs = info.ctimeMs;
          this.touch(repo, cached);
          return cached;
        }
      }
      return this.loadLog(repo, file, info);
    } finally {
      await file.close();
    }
  }

  /**
   * The fast path of a read: tags.log is still the file at `log`'s position. One stat of a file
   * whose inode is cached, done in place (a microsecond) rather than through libuv's threadpool,
   * where it would queue behind fsyncs: only on filesystems where stat sees every process's
   * completed writes at once (see coherent-stat.ts). Any doubt falls back to open + fstat.
   */
  private unchanged(repo: string, log: LogCursor): boolean {
    try {
      const info = statSync(tagLogPath(this.root, repo), { throwIfNoEntry: false });
      return info !== undefined && info.ino === log.ino && info.size === log.offset && info.ctimeMs === log.ctimeMs;
    } catch {
      return false;
    }
  }

  /** Applies what other writers appended; false when the file is not the one we were reading. */
  private async catchUp(file: FileHandle, log: LogCursor, index: RepositoryIndex, size: number): Promise<boolean> {
    const head = Buffer.alloc(HEADER_READ_BYTES);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (parseHeader(head.subarray(0, bytesRead))?.header.gen !== log.gen) return false;
    const tail = Buffer.alloc(size - log.offset);
    const { bytesRead: tailRead } = await file.read(tail, 0, tail.length, log.offset);
    const parsed = parseLines(tail.subarray(0, tailRead));
    for (const record of parsed.records) index.apply(record);
    log.offset += parsed.consumed;
    log.seq += parsed.counted;
    log.lines += parsed.records.length + parsed.skipped;
    log.torn = parsed.consumed < tailRead;
    return true;
  }

  private async loadLog(repo: string, file: FileHandle, info: { ino: number; ctimeMs: number }): Promise<Cached> {
    const bytes = await file.readFile();
    const head = parseHeader(bytes);
    if (!head) throw new Error(`tags.log of ${repo} has no complete header`);
    const parsed = parseLines(bytes.subarray(head.length));
    const index = new RepositoryIndex();
    for (const record of parsed.records) index.apply(record);
    const log: LogCursor = {
      ino: info.ino,
      ctimeMs: info.ctimeMs,
      gen: head.header.gen,
      offset: head.length + parsed.consumed,
      seq: head.header.base + parsed.counted,
      lines: parsed.records.length + parsed.skipped,
      torn: head.length + parsed.consumed < bytes.length,
    };
    const cached: Cached = { index, log, counted: 0 };
    this.remember(repo, cached);
    this.options.onChange?.(repo, log.seq, true);
    return cached;
  }

  private async loadLegacy(repo: string): Promise<Cached> {
    const path = indexPath(this.root, repo);
    let info: { ino: number; size: number; mtimeMs: number } = { ino: 0, size: 0, mtimeMs: 0 };
    try {
      const s = await stat(path);
      info = { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const cached = this.cache.get(repo);
    const known = cached?.legacy;
    if (cached && known && known.ino === info.ino && known.size === info.size && known.mtimeMs === info.mtimeMs) {
      this.touch(repo, cached);
      return cached;
    }
    let oci = emptyIndex();
    try {
      oci = parseIndex(await readFile(path, "utf8"));
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof SyntaxError)) throw err;
    }
    const fresh: Cached = { index: RepositoryIndex.fromOciIndex(oci), legacy: info, counted: 0 };
    this.remember(repo, fresh);
    return fresh;
  }

  /**
   * First Berth write to a repository whose truth is index.json (new, or from zot): tags.log is
   * created from it (temp + fsync + rename, under the lock), so nothing index.json held is lost.
   */
  private async seed(repo: string, legacy: Cached): Promise<Cached> {
    const lines = [headerLine(newHeader(0))];
    for (const record of legacy.index.records()) lines.push(recordLine(record, true));
    await this.files.writeFile(tagLogPath(this.root, repo), lines.join(""));
    this.forget(repo);
    return this.load(repo);
  }

  /** Rewrites the log as a snapshot when most of its lines are superseded (cost amortised per write). */
  private async compact(repo: string, cached: Cached): Promise<void> {
    const log = cached.log!;
    const header = newHeader(log.seq);
    const lines = [headerLine(header)];
    for (const record of cached.index.records()) lines.push(recordLine(record, true));
    const text = lines.join("");
    await this.files.writeFile(tagLogPath(this.root, repo), text);
    const info = await stat(tagLogPath(this.root, repo));
    Object.assign(log, { ino: info.ino, ctimeMs: info.ctimeMs, gen: header.gen, offset: Buffer.byteLength(text), lines: lines.length - 1, torn: false });
  }

  private forget(repo: string): void {
    const cached = this.cache.get(repo);
    if (!cached) return;
    this.cache.delete(repo);
    this.cachedEntries -= cached.counted;
  }

  private remember(repo: string, cached: Cached): void {
    this.forget(repo);
    this.cache.set(repo, cached);
    this.account(repo, cached);
  }

  private touch(repo: string, cached: Cached): void {
    this.cache.delete(repo);
    this.cache.set(repo, cached);
    this.account(repo, cached);
  }

  /** Keeps the entry count true and evicts least recently used repositories over the bound. */
  private account(repo: string, cached: Cached): void {
    // A state evicted while a batch was using it no longer counts.
    if (this.cache.get(repo) !== cached) return;
    this.cachedEntries += cached.index.size - cached.counted;
    cached.counted = cached.index.size;
    const max = this.options.maxCachedEntries ?? 2_000_000;
    for (const [name, c] of this.cache) {
      if (this.cachedEntries <= max || name === repo) break;
      this.cache.delete(name);
      this.cachedEntries -= c.counted;
    }
  }
}

const truncateFd = promisify(ftruncate);
const fdatasyncFd = promisify(fdatasync);

/**
 * append's body on a local filesystem: the same writes, with the open, fstat and close (of an
 * existing file whose data is on disk: nothing to wait for) done in place, not through the threadpool.
 */
async function appendInPlace(path: string, log: LogCursor, data: Buffer): Promise<void> {
  const fd = openSync(path, "r+");
  try {
    // A torn last line was never acknowledged (its writer died before fdatasync returned).
    if (log.torn) await truncateFd(fd, log.offset);
    // Positional, not O_APPEND: the lock orders writers, and the torn tail is overwritten.
    await writeAllFd(fd, data, log.offset);
    await fdatasyncFd(fd);
    log.ctimeMs = fstatSync(fd).ctimeMs;
  } finally {
    closeSync(fd);
  }
}

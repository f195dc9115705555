/**
 * The local outbox journal: where events wait, durable on disk, while Redis is away. One
 * directory, appended to by one process (which directory is whose: replica-journals.ts):
 *
 *   <storage.rootDirectory>/.berth/outbox-journal/<replica id>/
 *     segment-000000000001.jsonl   sealed: immutable, drained by the relay, then deleted
 *     segment-000000000002.jsonl   active: appended to (one line per event, see journal-record.ts)
 *
 * Appends are fsync'd before they resolve (group commit: appends that arrive while a write is
 * in flight share the next fsync). A process always starts a new segment, so it never appends
 * after a torn line left by a crash. Segments are drained oldest first, which keeps publish
 * order; a segment is deleted only after every record in it has been enqueued.
 */
import { mkdir, open, readFile, readdir, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { BerthEvent } from "@berth/events";
import { writeAllHandle } from "@berth/storage";
import type { Logger } from "@berth/telemetry";
import { decodeRecord, encodeRecord } from "./journal-record.js";

export const JOURNAL_DIRECTORY = join(".berth", "outbox-journal");
const SEGMENT = /^segment-(\d{12})\.jsonl$/;

/** The directory holding every replica's journal directory (replica-journals.ts). */
export function journalDirectory(storageRoot: string): string {
  return join(storageRoot, JOURNAL_DIRECTORY);
}

function segmentName(seq: number): string {
  return `segment-${String(seq).padStart(12, "0")}.jsonl`;
}

export interface SegmentContents {
  events: BerthEvent[];
  /** Records that failed their checksum or were torn by a crash; logged and not delivered. */
  skipped: number;
}

/** Reads a sealed segment; a damaged or torn line is skipped with a warning. */
export async function readSegment(path: string, logger: Logger): Promise<SegmentContents> {
  const text = await readFile(path, "utf8");
  const lines = text.split("\n");
  const last = lines.pop();
  let skipped = 0;
  if (last) {
    skipped += 1;
    logger.warn({ segment: path }, "outbox journal: skipping a torn last line (crash mid-write)");
  }
  const events: BerthEvent[] = [];
  for (const [index, line] of lines.entries()) {
    const record = decodeRecord(line);
    if (record.ok) {
      events.push(record.event);
    } else {
      skipped += 1;
      logger.warn({ segment: path, line: index + 1, reason: record.reason }, "outbox journal: skipping a damaged record");
    }
  }
  return { events, skipped };
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * `mkdir -p` that survives a power loss: each level it created is made durable by an fsync of its
 * parent, and `dir`'s own entry is fsync'd at every open (an earlier run may have created it and
 * died first). Without this, a segment fsync'd with its directory still vanished with the
 * directory when nothing else fsync'd `.berth` (a root whose repositories all exist).
 */
export async function makeDurableDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  for (let d = dir; ; d = dirname(d)) {
    await syncDirectory(dirname(d));
    if (first === undefined || d === first || dirname(d) === d) return;
  }
}

interface PendingAppend {
  text: string;
  count: number;
  resolve(): void;
  reject(err: unknown): void;
}

interface ActiveSegment {
  name: string;
  handle: FileHandle;
  bytes: number;
}

export interface JournalOptions {
  maxSegmentBytes: number;
  logger: Logger;
  /**
   * Asked after each fsync'd write: is this directory still ours? False fails the write's appends
   * with `JournalLeaseLostError` (a peer adopted the directory; its relay may not see the write)
   * and every later append too.
   */
  stillOurs?: () => Promise<boolean>;
}

/** The journal's directory was adopted by another replica: appends must go to a new one. */
export class JournalLeaseLostError extends Error {
  override readonly name = "JournalLeaseLostError";
  constructor(readonly dir: string) {
    super(`outbox journal ${dir} was adopted by another replica`);
  }
}

export class Journal {
  private nextSeq: number;
  private active: ActiveSegment | undefined;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  /** Events of the write in flight (spliced from `pending`, not yet counted in `records`). */
  private writing = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private records: number;
  private lost = false;

  private constructor(
    readonly dir: string,
    private readonly options: JournalOptions,
    lastSeq: number,
    records: number,
  ) {
    this.nextSeq = lastSeq + 1;
    this.records = records;
  }

  /** Opens (creating) the journal and counts the records left by earlier runs. */
  static async open(dir: string, options: JournalOptions): Promise<Journal> {
    await makeDurableDirectory(dir);
    const names = await listSegments(dir);
    let records = 0;
    for (const name of names) {
      records += (await readSegment(join(dir, name), options.logger)).events.length;
    }
    const lastSeq = names.length > 0 ? Number(SEGMENT.exec(names.at(-1) ?? "")?.[1] ?? 0) : 0;
    return new Journal(dir, options, lastSeq, records);
  }

  /** Events durable in the journal and not yet enqueued. */
  get depth(): number {
    return this.records;
  }

  /** Nothing journaled and nothing being journaled: publish may go straight to Redis. */
  isEmpty(): boolean {
    return this.records === 0 && this.writing === 0 && this.pending.length === 0 && !this.flushScheduled;
  }

  /** Resolves once the events are written and fsync'd. */
  append(events: readonly BerthEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    if (this.lost) return Promise.reject(new JournalLeaseLostError(this.dir));
    const text = events.map(encodeRecord).join("");
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ text, count: events.length, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        void this.exclusive(() => this.flush());
      }
    });
  }

  /**
   * The oldest segment, sealed so no append touches it any more; undefined when the journal
   * has no segment. The relay reads it with `readSegment` and then calls `release`.
   */
  nextSegmentToDrain(): Promise<string | undefined> {
    return this.exclusive(async () => {
      const oldest = (await listSegments(this.dir))[0];
      if (oldest && oldest === this.active?.name) await this.seal();
      return oldest === undefined ? undefined : join(this.dir, oldest);
    });
  }

  /** Deletes a drained segment whose `delivered` records are all in Redis now. */
  async release(segmentPath: string, delivered: number): Promise<void> {
    // Gone already: a peer that took the directory over (our lease lapsed) relayed it too.
    const removed = await unlink(segmentPath).then(
      () => true,
      (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        return false;
      },
    );
    if (removed) await syncDirectory(this.dir);
    this.records = Math.max(0, this.records - delivered);
  }

  close(): Promise<void> {
    return this.exclusive(() => this.seal());
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    if (this.lost) {
      // Queued before the directory was found adopted: they belong in the next one.
      for (const p of batch) p.reject(new JournalLeaseLostError(this.dir));
      return;
    }
    const count = batch.reduce((sum, p) => sum + p.count, 0);
    this.writing += count;
    try {
      const buffer = Buffer.from(batch.map((p) => p.text).join(""), "utf8");
      const segment = await this.segmentFor(buffer.length);
      await writeAllHandle(segment.handle, buffer);
      await segment.handle.datasync();
      if (this.options.stillOurs && !(await this.options.stillOurs())) {
        this.lost = true;
        throw new JournalLeaseLostError(this.dir);
      }
      segment.bytes += buffer.length;
      this.records += count;
      for (const p of batch) p.resolve();
    } catch (err) {
      // The write may be partial; a fresh segment keeps later records off a damaged tail.
      await this.seal().catch(() => {});
      for (const p of batch) p.reject(err);
    } finally {
      this.writing -= count;
    }
  }

  private async segmentFor(bytes: number): Promise<ActiveSegment> {
    const current = this.active;
    if (current && (current.bytes === 0 || current.bytes + bytes <= this.options.maxSegmentBytes)) {
      return current;
    }
    await this.seal();
    const name = segmentName(this.nextSeq);
    this.nextSeq += 1;
    const handle = await open(join(this.dir, name), "wx");
    // The new file's directory entry must survive a crash too.
    await syncDirectory(this.dir);
    this.active = { name, handle, bytes: 0 };
    return this.active;
  }

  private async seal(): Promise<void> {
    const current = this.active;
    this.active = undefined;
    if (current) await current.handle.close();
  }
}

async function listSegments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => SEGMENT.test(name)).sort();
}

/**
 * The outbox journals of every registry replica on one storage root, seen from one of them:
 *
 *   <storage.rootDirectory>/.berth/outbox-journal/
 *     <replica id>/            one per process start (host-pid-random), held with a lease
 *       lease                  the holder's token; its mtime is renewed every third of a lease
 *       segment-….jsonl        see journal.ts
 *     legacy/                  segments of a journal from before per-replica directories
 *     segment-….jsonl          (that older layout: moved into legacy/ by whoever claims it)
 *
 * A replica appends only to its own directory, and relays only directories whose lease it holds:
 * its own, and those it adopted. Every third of a lease it renews its leases and scans the others:
 * a directory without a lease (its replica stopped cleanly with events left), or whose lease stayed
 * unchanged for a whole lease (its replica died; at once when that replica ran on this machine
 * and its process is gone), is adopted by taking its lease: the exclusive create lets exactly one
 * live replica have it. Adopted journals are relayed before the replica's own, and new events
 * queue behind them (as behind its own), then the directory is removed. A replica that dies while
 * relaying an adopted journal leaves it to the next adopter.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BerthEvent } from "@berth/events";
import { DEFAULT_LOCK_OPTIONS, breakStaleLease, holderProcessGone, observeLease } from "@berth/storage";
import type { Logger } from "@berth/telemetry";
import { Journal, JournalLeaseLostError, makeDurableDirectory } from "./journal.js";
import { JournalLease, LEASE_FILE, isCode } from "./journal-lease.js";

const LEGACY = "legacy";
const SEGMENT = /^segment-\d{12}\.jsonl$/;
const GONE = ".gone-";

export interface ReplicaJournalsOptions {
  /** `<storage root>/.berth/outbox-journal`. */
  root: string;
  maxSegmentBytes: number;
  logger: Logger;
  /** A lease unrenewed this long belongs to a dead replica (default: storage's lock lease, 10 s). */
  leaseMs?: number;
  /** Called when a journal was adopted (the relay should drain it). */
  onAdopted?: () => void;
}

/** A sealed segment to relay, and how to delete it once every record of it is in Redis. */
export interface DrainSegment {
  path: string;
  release(delivered: number): Promise<void>;
}

/** What the relay drains: segments oldest first, adopted journals before the replica's own. */
export interface DrainSource {
  readonly depth: number;
  nextSegmentToDrain(): Promise<DrainSegment | undefined>;
}

interface HeldJournal {
  name: string;
  journal: Journal;
  lease: JournalLease;
}

function newReplicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

export class ReplicaJournals implements DrainSource {
  private readonly adopted: HeldJournal[] = [];
  /** Lease key (mtime + content) of each peer directory and when it was first seen unchanged. */
  private readonly seen = new Map<string, { key: string; since: number }>();
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private rehoming: Promise<void> | undefined;
  private closed = false;
  /** Journals adopted since open (a metric). */
  adoptions = 0;

  private constructor(
    private readonly options: ReplicaJournalsOptions,
    private own: HeldJournal,
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LOCK_OPTIONS.leaseMs;
  }

  /** Creates this replica's journal directory, adopts what dead or stopped replicas left, starts renewing. */
  static async open(options: ReplicaJournalsOptions): Promise<ReplicaJournals> {
    // Durable: the journal directories below it are fsync'd into it, but it must itself survive a
    // power loss in `.berth` (a root whose repositories all exist fsyncs nothing else there).
    await makeDurableDirectory(options.root);
    const journals = new ReplicaJournals(options, await ReplicaJournals.createOwn(options));
    await journals.scan();
    journals.schedule();
    return journals;
  }

  private static async createOwn(options: ReplicaJournalsOptions): Promise<HeldJournal> {
    // A peer scanning between our mkdir and our lease may take the empty directory: try another id.
    for (let attempt = 0; attempt < 5; attempt++) {
      const name = newReplicaId();
      const dir = join(options.root, name);
      await mkdir(dir, { recursive: true });
      const lease = await JournalLease.tryTake(dir);
      if (!lease) continue;
      const journal = await Journal.open(dir, {
        maxSegmentBytes: options.maxSegmentBytes,
        logger: options.logger,
        stillOurs: () => lease.held(),
      });
      return { name, journal, lease };
    }
    throw new Error(`outbox journal: could not create a journal directory under ${options.root}`);
  }

  /** This process's journal directory name (its replica id). */
  get replicaId(): string {
    return this.own.name;
  }

  /** Events durable in journals this replica holds (its own and adopted ones), not yet enqueued. */
  get depth(): number {
    return this.adopted.reduce((sum, held) => sum + held.journal.depth, this.own.journal.depth);
  }

  /** Nothing journaled or being journaled here, nothing adopted to relay: publish may go to Redis. */
  isEmpty(): boolean {
    return this.adopted.length === 0 && this.own.journal.isEmpty();
  }

  /** Appends to this replica's journal; if a peer took it over (we stalled past the lease), to a new one. */
  async append(events: readonly BerthEvent[]): Promise<void> {
    // The journal this append went to: by the time it fails, another append may have rehomed already.
    const held = this.own;
    try {
      await held.journal.append(events);
    } catch (err) {
      if (!(err instanceof JournalLeaseLostError)) throw err;
      await this.rehome(held);
      await this.own.journal.append(events);
    }
  }

  async nextSegmentToDrain(): Promise<DrainSegment | undefined> {
    while (this.adopted[0]) {
      const held = this.adopted[0];
      const path = await held.journal.nextSegmentToDrain();
      if (path) return { path, release: (n) => held.journal.release(path, n) };
      this.adopted.shift();
      await this.remove(held);
      this.options.logger.info({ journal: held.name }, "outbox journal: adopted journal relayed and removed");
    }
    const { journal } = this.own;
    const path = await journal.nextSegmentToDrain();
    return path ? { path, release: (n) => journal.release(path, n) } : undefined;
  }

  /** Stops renewing; an empty own journal is removed, one with events is left for a peer (or the next start) to adopt. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.ticking;
    await this.rehoming;
    await this.own.journal.close();
    if (this.own.journal.depth === 0) await this.remove(this.own);
    else await this.own.lease.release();
    for (const held of this.adopted.splice(0)) {
      await held.journal.close();
      await held.lease.release();
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        this.schedule();
      });
    }, this.leaseMs / 3);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.own.lease.renew())) await this.rehome(this.own);
      for (const held of [...this.adopted]) {
        if (await held.lease.renew()) continue;
        // A peer broke our lease (we stalled a whole lease): the journal is its to relay now.
        this.adopted.splice(this.adopted.indexOf(held), 1);
        await held.journal.close();
      }
      await this.scan();
    } catch (err) {
      const e = err as Error;
      this.options.logger.warn({ err: { name: e.name, message: e.message } }, "outbox journal: lease renewal or scan failed; will retry");
    }
  }

  /** Our own directory was taken over by a peer: journal into a fresh one from now on. */
  private rehome(lost: HeldJournal): Promise<void> {
    this.rehoming ??= (async () => {
      if (this.own !== lost) return;
      this.options.logger.error(
        { journal: lost.name, leaseMs: this.leaseMs },
        "outbox journal: another replica adopted this replica's journal (no lease renewal for a whole lease); journaling into a new directory",
      );
      await lost.journal.close().catch(() => undefined);
      this.own = await ReplicaJournals.createOwn(this.options);
    })().finally(() => {
      this.rehoming = undefined;
    });
    return this.rehoming;
  }

  /** Adopts every peer directory whose replica stopped or died, and the older layout's segments. */
  private async scan(): Promise<void> {
    const { root, logger } = this.options;
    const entries = await readdir(root, { withFileTypes: true });
    const names = new Set<string>();
    let legacySegments = false;
    for (const entry of entries) {
      if (entry.isFile() && SEGMENT.test(entry.name)) legacySegments = true;
      else if (entry.isDirectory() && entry.name.startsWith(GONE)) await rm(join(root, entry.name), { recursive: true, force: true });
      else if (entry.isDirectory() && !entry.name.startsWith(".")) names.add(entry.name);
    }
    if (legacySegments && !names.has(LEGACY)) {
      await mkdir(join(root, LEGACY)).catch((err: unknown) => {
        if (!isCode(err, "EEXIST")) throw err;
      });
      names.add(LEGACY);
    }
    for (const name of this.seen.keys()) if (!names.has(name)) this.seen.delete(name);
    for (const name of names) {
      if (this.closed) return;
      if (name === this.own.name || this.adopted.some((held) => held.name === name)) continue;
      const dir = join(root, name);
      if (!(await this.leaseBroken(name, dir))) continue;
      const lease = await JournalLease.tryTake(dir);
      if (!lease) continue;
      if (name === LEGACY) await moveLegacySegments(root, dir);
      const journal = await Journal.open(dir, { maxSegmentBytes: this.options.maxSegmentBytes, logger });
      const held = { name, journal, lease };
      if (journal.depth === 0 && (await journal.nextSegmentToDrain()) === undefined) {
        await this.remove(held);
        continue;
      }
      logger.warn({ journal: name, events: journal.depth }, "outbox journal: adopted the journal of a stopped or dead replica; relaying it");
      this.adopted.push(held);
      this.adoptions += 1;
      this.options.onAdopted?.();
    }
  }

  /** True when `dir` has no lease (any more): free to take. */
  private async leaseBroken(name: string, dir: string): Promise<boolean> {
    const path = join(dir, LEASE_FILE);
    const held = await observeLease(path);
    if (!held) return true;
    if (!holderProcessGone(held.content)) {
      const key = `${held.mtimeMs}\n${held.content}`;
      const seen = this.seen.get(name);
      const now = performance.now();
      if (seen?.key !== key) {
        this.seen.set(name, { key, since: now });
        return false;
      }
      if (now - seen.since < this.leaseMs) return false;
    }
    this.seen.delete(name);
    await breakStaleLease(path, held.content);
    return true;
  }

  /** Removes a journal directory: renamed aside first, so no scan adopts it half-deleted. */
  private async remove(held: HeldJournal): Promise<void> {
    const aside = join(this.options.root, `${GONE}${held.name}-${randomBytes(4).toString("hex")}`);
    try {
      await rename(join(this.options.root, held.name), aside);
    } catch (err) {
      if (isCode(err, "ENOENT")) return;
      throw err;
    }
    await rm(aside, { recursive: true, force: true });
  }
}

/** Moves the older layout's segments into `legacy/` (names keep their order); each file moves once. */
async function moveLegacySegments(root: string, legacyDir: string): Promise<void> {
  const names = (await readdir(root)).filter((name) => SEGMENT.test(name)).sort();
  for (const name of names) {
    await rename(join(root, name), join(legacyDir, name)).catch((err: unknown) => {
      if (!isCode(err, "ENOENT")) throw err;
    });
  }
}

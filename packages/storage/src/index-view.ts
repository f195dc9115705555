import { open, readFile, rm } from "node:fs/promises";
import { isNotFound } from "./atomic-file.js";
import type { DurableFs } from "./durable-fs.js";
import type { LeaseLocks } from "./lease-lock.js";
import { indexPath, lockPath, tempPathFor, viewMarkerPath } from "./paths.js";
import type { RepositoryIndexes } from "./repository-indexes.js";
import { writeAllHandle } from "./write-all.js";

export interface IndexViewOptions {
  /** How long after a change index.json is rewritten (changes in between share one rewrite). */
  delayMs: number;
  /** A background rewrite failed (it is retried after the delay). */
  onError?: (repo: string, err: unknown) => void;
  /** The durable write layer (temp + fsync + rename + directory fsync). */
  files: DurableFs;
}

export const DEFAULT_INDEX_VIEW_DELAY_MS = 1000;

/**
 * Keeps each repository's index.json, the view zot and OCI-layout tools read, caught up with its
 * tags.log: at most one rewrite per repository per `delayMs`, off the request path. The file is
 * serialised and fsynced outside the repository's lock; the lock is held only to rename it into
 * place and record its log position, and a view older than the one installed is discarded, so
 * replicas racing to rewrite it never move index.json backwards.
 */
export class IndexViews {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly files: DurableFs;

  constructor(
    private readonly root: string,
    private readonly locks: LeaseLocks,
    private readonly indexes: RepositoryIndexes,
    private readonly options: IndexViewOptions,
  ) {
    this.files = options.files;
  }

  /** index.json of `repo` is behind: rewrite it after the delay. */
  schedule(repo: string): void {
    if (this.running.has(repo)) {
      this.dirty.add(repo);
      return;
    }
    if (this.timers.has(repo)) return;
    const timer = setTimeout(() => {
      this.timers.delete(repo);
      this.start(repo);
    }, this.options.delayMs);
    timer.unref();
    this.timers.set(repo, timer);
  }

  /** A state loaded from tags.log at position `seq`: schedules a rewrite if index.json is behind it. */
  async checkBehind(repo: string, seq: number): Promise<void> {
    if ((await this.installedSeq(repo)) < seq) this.schedule(repo);
  }

  /** Rewrites every index.json that is behind now (shutdown, tests); a failing one is tried 3 times. */
  async flush(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      for (const [repo, timer] of this.timers) {
        clearTimeout(timer);
        this.timers.delete(repo);
        this.start(repo);
      }
      const running = [...this.running.values()];
      if (running.length === 0 && this.timers.size === 0) return;
      await Promise.all(running);
    }
  }

  private start(repo: string): void {
    this.dirty.delete(repo);
    const work = this.rewrite(repo)
      .catch((err: unknown) => {
        this.options.onError?.(repo, err);
        this.dirty.add(repo);
      })
      .finally(() => {
        this.running.delete(repo);
        if (this.dirty.has(repo)) {
          this.dirty.delete(repo);
          this.schedule(repo);
        }
      });
    this.running.set(repo, work);
  }

  private async rewrite(repo: string): Promise<void> {
    const { chunks, seq } = await this.indexes.snapshot(repo, (index, seq) => ({ chunks: index.toOciIndexChunks(), seq }));
    if (seq === undefined) return; // index.json is still the truth: nothing to draw
    const target = indexPath(this.root, repo);
    const temp = tempPathFor(target);
    try {
      await writeChunks(temp, chunks);
      await this.locks.run(lockPath(this.root, repo), async (held) => {
        if ((await this.installedSeq(repo)) >= seq) return;
        await held.check();
        await this.files.move(temp, target);
        // After index.json: a crash in between leaves the marker behind, so it is rewritten again.
        await this.files.writeFile(viewMarkerPath(this.root, repo), JSON.stringify({ seq }));
      });
    } finally {
      await rm(temp, { force: true });
    }
  }

  private async installedSeq(repo: string): Promise<number> {
    try {
      const seq = (JSON.parse(await readFile(viewMarkerPath(this.root, repo), "utf8")) as { seq?: unknown }).seq;
      return typeof seq === "number" ? seq : -1;
    } catch (err) {
      if (isNotFound(err) || err instanceof SyntaxError) return -1;
      throw err;
    }
  }
}

async function writeChunks(path: string, chunks: string[]): Promise<void> {
  const file = await open(path, "w");
  try {
    for (const chunk of chunks) await writeAllHandle(file, Buffer.from(chunk));
    await file.sync();
  } finally {
    await file.close();
  }
}

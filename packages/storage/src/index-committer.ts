import { readFile } from "node:fs/promises";
import { isNotFound } from "./atomic-file.js";
import type { DurableFs } from "./durable-fs.js";
import { type OciIndex, emptyIndex, parseIndex, serializeIndex } from "./oci-index.js";
import { indexPath } from "./paths.js";

type Mutation = (index: OciIndex) => unknown;

interface Pending {
  mutate: Mutation;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

interface RepoState {
  index?: OciIndex;
  written?: string;
  queue: Pending[];
  flushing: boolean;
}

/**
 * Owns every repository's index.json: reads are served from memory, and updates are serialised
 * per repository and group-committed — the mutations queued while one write is in flight are
 * applied in order and written together, once (temp + fsync + rename). No tag is lost when many
 * clients push to one repository at once, and index.json is never torn.
 */
export class IndexCommitter {
  private readonly repos = new Map<string, RepoState>();

  constructor(
    private readonly root: string,
    private readonly fs: DurableFs,
  ) {}

  /** The current index (a snapshot: callers must not mutate it). */
  async read(repo: string): Promise<OciIndex> {
    const state = this.state(repo);
    state.index ??= await this.load(repo);
    return state.index;
  }

  /** Applies `mutate` to a copy of the index; writes it if anything changed; resolves its result. */
  update<T>(repo: string, mutate: (index: OciIndex) => T): Promise<T> {
    const state = this.state(repo);
    return new Promise<T>((resolve, reject) => {
      state.queue.push({ mutate, resolve: resolve as (v: unknown) => void, reject });
      if (!state.flushing) void this.flush(repo, state);
    });
  }

  /** Drops the cached index (the repository was removed or replaced on disk). */
  forget(repo: string): void {
    const state = this.repos.get(repo);
    if (state && !state.flushing && state.queue.length === 0) this.repos.delete(repo);
  }

  private state(repo: string): RepoState {
    let state = this.repos.get(repo);
    if (!state) {
      state = { queue: [], flushing: false };
      this.repos.set(repo, state);
    }
    return state;
  }

  private async load(repo: string): Promise<OciIndex> {
    try {
      return parseIndex(await readFile(indexPath(this.root, repo), "utf8"));
    } catch (err) {
      if (isNotFound(err) || err instanceof SyntaxError) return emptyIndex();
      throw err;
    }
  }

  private async flush(repo: string, state: RepoState): Promise<void> {
    state.flushing = true;
    try {
      // Bounded: each turn drains the queue as it is; new work arrives only from new requests.
      while (state.queue.length > 0) {
        const batch = state.queue.splice(0, state.queue.length);
        await this.commit(repo, state, batch);
      }
    } finally {
      state.flushing = false;
    }
  }

  private async commit(repo: string, state: RepoState, batch: Pending[]): Promise<void> {
    let current: OciIndex;
    try {
      current = state.index ?? (await this.load(repo));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    state.written ??= serializeIndex(current);
    const next: OciIndex = structuredClone(current);
    const applied: Array<{ p: Pending; value: unknown }> = [];
    for (const p of batch) {
      try {
        applied.push({ p, value: p.mutate(next) });
      } catch (err) {
        p.reject(err);
      }
    }
    const text = serializeIndex(next);
    try {
      if (text !== state.written) {
        await this.fs.writeFile(indexPath(this.root, repo), text);
        state.written = text;
      }
      state.index = next;
      for (const { p, value } of applied) p.resolve(value);
    } catch (err) {
      for (const { p } of applied) p.reject(err);
    }
  }
}

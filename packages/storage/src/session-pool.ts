import { randomUUID } from "node:crypto";
import type { DurableFs } from "./durable-fs.js";
import { uploadsPath } from "./paths.js";

/** Sessions created ahead by a POST that has to create one: the next POSTs of the repository take them. */
const AHEAD_PER_REPOSITORY = 3;
/** Repositories with sessions kept ready, at most (the others create one per POST). */
const MAX_REPOSITORIES = 1024;

/**
 * Upload sessions created in groups, so most POSTs answer without a directory fsync of their own.
 * A session's creation is durable before its POST is answered (issue 21): a POST that finds none
 * ready creates its own and AHEAD_PER_REPOSITORY more, all with one fsync of `.uploads`, before it
 * answers; the next POSTs of that repository take those (an image push opens two back to back).
 * Nothing runs in the background.
 *
 * Each process hands out only the ids it created, so replicas never share one. The sessions of a
 * process that stops are empty sessions nobody opened: they expire as any abandoned upload does.
 */
export class SessionPool {
  private readonly ready = new Map<string, string[]>();
  /** Sessions being created ahead per repository: concurrent POSTs do not create a surplus. */
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly fs: DurableFs,
  ) {}

  /** A new durable empty session of `repo`. */
  async create(repo: string): Promise<string> {
    const ids = this.ready.get(repo);
    const id = ids?.pop();
    if (id !== undefined) {
      if (ids?.length === 0) this.ready.delete(repo);
      return id;
    }
    const pending = this.pending.get(repo) ?? 0;
    const ahead = this.ready.size < MAX_REPOSITORIES ? Math.max(0, AHEAD_PER_REPOSITORY - pending) : 0;
    const created = Array.from({ length: 1 + ahead }, () => randomUUID());
    this.pending.set(repo, pending + ahead);
    try {
      await this.fs.createFiles(uploadsPath(this.root, repo), created);
    } finally {
      const left = (this.pending.get(repo) ?? ahead) - ahead;
      if (left > 0) this.pending.set(repo, left);
      else this.pending.delete(repo);
    }
    const own = created.pop()!;
    if (created.length > 0) this.ready.set(repo, [...(this.ready.get(repo) ?? []), ...created]);
    return own;
  }
}

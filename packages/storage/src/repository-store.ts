import { stat } from "node:fs/promises";
import { join } from "node:path";
import { isValidRepositoryName } from "@berth/oci";
import { isNotFound, listDirectory, pathExists } from "./atomic-file.js";
import type { DurableFs } from "./durable-fs.js";
import type { LeaseLocks } from "./lease-lock.js";
import { emptyIndex, serializeIndex } from "./oci-index.js";
import {
  BLOBS_DIR,
  OCI_LAYOUT_FILE,
  UNANNOUNCED_FILE,
  UPLOADS_DIR,
  blobsPath,
  catalogMarkerPath,
  requireStorableName,
  reservedComponentOf,
  indexPath,
  lockPath,
  ociLayoutPath,
  unannouncedPath,
  uploadsPath,
} from "./paths.js";

export interface RepositoryStore {
  exists(repo: string): Promise<boolean>;
  /**
   * Creates the repository's layout if missing; true when this call created it. `announce` (the
   * registry's repository.created event) runs under the repository's lock for a repository this
   * call created, or one whose creation was never announced: a process that died between creating
   * and announcing leaves a marker, so the next write (or `unannounced` at start-up) announces it.
   * The marker goes only after `announce` resolves: at least once, never lost.
   */
  ensure(repo: string, announce?: Announce): Promise<boolean>;
  /** Every repository under the root, sorted (the catalog). */
  list(): Promise<string[]>;
  /** Repositories whose creation was never announced (walks the root). */
  unannounced(): Promise<string[]>;
}

export type Announce = () => Promise<void>;

/** Bounds the catalog walk so a pathological tree cannot hang a request. */
const MAX_WALK_DEPTH = 32;

export class FsRepositoryStore implements RepositoryStore {
  private readonly known = new Set<string>();
  /** Repositories whose creation is announced (or was, by an earlier run): `ensure`'s fast path. */
  private readonly announced = new Set<string>();
  private catalog: { names: Set<string>; marker: string } | undefined;

  constructor(
    private readonly root: string,
    private readonly fs: DurableFs,
    private readonly locks: LeaseLocks,
  ) {}

  async exists(repo: string): Promise<boolean> {
    if (this.known.has(repo)) return true;
    if (!(await pathExists(ociLayoutPath(this.root, repo)))) return false;
    this.known.add(repo);
    return true;
  }

  ensure(repo: string, announce?: Announce): Promise<boolean> {
    if (this.announced.has(repo)) return Promise.resolve(false);
    // Before the lock: its directory must never be made inside a name the layout reserves.
    try {
      requireStorableName(repo);
    } catch (err) {
      return Promise.reject(err);
    }
    // The repository's lock, shared with every replica: one of them creates and announces it.
    return this.locks.run(lockPath(this.root, repo), async () => {
      if (this.announced.has(repo)) return false;
      const created = !(await this.exists(repo));
      if (created) await this.create(repo);
      if (created || (await pathExists(unannouncedPath(this.root, repo)))) {
        await announce?.();
        await this.fs.remove(unannouncedPath(this.root, repo));
      }
      this.announced.add(repo);
      return created;
    });
  }

  async unannounced(): Promise<string[]> {
    const found = new Set<string>();
    const pending = new Set<string>();
    await this.walk(this.root, [], found, 0, pending);
    return [...pending].sort();
  }

  private async create(repo: string): Promise<void> {
    await this.fs.ensureDirectory(blobsPath(this.root, repo));
    await this.fs.ensureDirectory(uploadsPath(this.root, repo));
    await this.fs.writeFile(indexPath(this.root, repo), serializeIndex(emptyIndex()));
    // The marker before oci-layout, each durable before the next: after a power loss a repository
    // never exists without its marker until it is announced.
    await this.fs.writeFile(unannouncedPath(this.root, repo), "");
    // oci-layout last: it is what marks the directory as a repository.
    await this.fs.writeFile(ociLayoutPath(this.root, repo), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    this.known.add(repo);
    // Tells other replicas their catalog is stale (they compare the marker's identity).
    await this.fs.writeFile(catalogMarkerPath(this.root), repo);
  }

  async list(): Promise<string[]> {
    const marker = await this.catalogMarker();
    if (this.catalog?.marker !== marker) {
      const found = new Set<string>();
      await this.walk(this.root, [], found, 0);
      this.catalog = { names: found, marker };
    }
    return [...this.catalog.names].sort();
  }

  private async catalogMarker(): Promise<string> {
    try {
      const info = await stat(catalogMarkerPath(this.root));
      return `${info.ino}:${info.mtimeMs}:${info.size}`;
    } catch (err) {
      if (isNotFound(err)) return "none";
      throw err;
    }
  }

  private async walk(dir: string, prefix: string[], found: Set<string>, depth: number, unannounced?: Set<string>): Promise<void> {
    if (depth > MAX_WALK_DEPTH) return;
    const entries = await listDirectory(dir);
    const isRepo = entries.some((e) => e.isFile() && e.name === OCI_LAYOUT_FILE);
    const name = prefix.join("/");
    // zot keeps its own files under the root (cache.db, _trivy): only valid names are repositories.
    if (isRepo && isValidRepositoryName(name) && reservedComponentOf(name) === undefined) {
      found.add(name);
      if (entries.some((e) => e.isFile() && e.name === UNANNOUNCED_FILE)) unannounced?.add(name);
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      if (isRepo && (entry.name === BLOBS_DIR || entry.name === UPLOADS_DIR)) continue;
      await this.walk(join(dir, entry.name), [...prefix, entry.name], found, depth + 1, unannounced);
    }
  }
}

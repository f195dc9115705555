import { readFile, stat } from "node:fs/promises";
import { type Descriptor, type Digest, parseDigest, parseManifest } from "@berth/oci";
import { isNotFound, listDirectory } from "./atomic-file.js";
import type { BlobStore } from "./blob-store.js";
import type { DurableFs } from "./durable-fs.js";
import { blobAlgorithmPath, blobPath, blobsPath } from "./paths.js";
import type { IndexRecord, RepositoryIndex } from "./repository-index.js";
import type { RepositoryIndexes } from "./repository-indexes.js";

export interface CollectOptions {
  /** Blobs and untagged manifests younger than this (by their file's mtime) are kept: zot's gcDelay. */
  delayMs: number;
  /** Lists what a run would remove; removes nothing and takes no lock. */
  dryRun?: boolean;
  /** Only these repositories (default: every repository under the root). */
  repositories?: readonly string[];
  now?: () => number;
  /** Each removal as it is made (dry run: each removal a run would make). */
  onRemoved?: (item: CollectedItem) => void;
  /** After each repository: `done` of `total`. */
  onProgress?: (done: number, total: number, repository: string) => void;
}

export interface CollectedItem {
  repository: string;
  /** A manifest is untagged and needed by nothing (its drop record is written, then its bytes go). */
  kind: "blob" | "manifest";
  digest: string;
  bytes: number;
}

export interface CollectResult {
  removed: CollectedItem[];
  bytes: number;
  repositories: number;
  /** Repositories left alone, and why (a manifest that does not parse: what it needs is unknown). */
  skipped: Array<{ repository: string; reason: string }>;
}

/** What a manifest keeps alive. */
interface Refs {
  /** Config and layers (image), or nothing. */
  blobs: string[];
  /** Child manifests (index). */
  children: string[];
  subject?: string;
}

interface Plan {
  manifests: Descriptor[];
  blobs: Array<{ digest: Digest; bytes: number }>;
  /** Untagged manifests whose file was older than the delay when planned. */
  old: Set<string>;
}

class Unparseable extends Error {}

const HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/**
 * Garbage collection of one storage root, safe while any number of replicas push (see the
 * README's "Garbage collection"). Per repository: a draft is made outside the lock (file ages,
 * blob listing; nothing to do: no lock taken), then the plan is made again under the repository's
 * lock from the state every write is serialised against (the draft's ages, manifests' references
 * in memory), and carried out there: untagged manifests are dropped through tags.log,
 * blobs removed once the records are durable. A manifest PUT re-checks its blobs under the same
 * lock, so it either sees a blob gone (MANIFEST_BLOB_UNKNOWN) or keeps it from being collected.
 */
export class GarbageCollector {
  /** What each manifest refers to: content-addressed, so valid for as long as the process runs. */
  private readonly refs = new Map<string, Refs | null>();

  constructor(
    private readonly root: string,
    private readonly indexes: RepositoryIndexes,
    private readonly blobs: BlobStore,
    private readonly fs: DurableFs,
    private readonly listRepositories: () => Promise<string[]>,
  ) {}

  async collect(options: CollectOptions): Promise<CollectResult> {
    const repositories = options.repositories ?? (await this.listRepositories());
    const result: CollectResult = { removed: [], bytes: 0, repositories: repositories.length, skipped: [] };
    const report = (item: CollectedItem) => {
      result.removed.push(item);
      result.bytes += item.bytes;
      options.onRemoved?.(item);
    };
    let done = 0;
    for (const repo of repositories) {
      const cutoff = (options.now ?? Date.now)() - options.delayMs;
      try {
        await this.collectRepository(repo, cutoff, options.dryRun === true, report);
      } catch (err) {
        if (!(err instanceof Unparseable)) throw err;
        result.skipped.push({ repository: repo, reason: err.message });
      }
      options.onProgress?.(++done, repositories.length, repo);
    }
    if (this.refs.size > 1_000_000) this.refs.clear();
    return result;
  }

  private async collectRepository(repo: string, cutoff: number, dryRun: boolean, report: (item: CollectedItem) => void): Promise<void> {
    const draft = await this.plan(repo, await this.indexes.read(repo), cutoff);
    if (draft.manifests.length === 0 && draft.blobs.length === 0) return;
    if (dryRun) {
      for (const m of draft.manifests) report({ repository: repo, kind: "manifest", digest: m.digest, bytes: await this.sizeOf(repo, parseDigest(m.digest)) });
      for (const b of draft.blobs) report({ repository: repo, kind: "blob", digest: b.digest.value, bytes: b.bytes });
      return;
    }
    await this.indexes.update(repo, async (index, batch) => {
      // The state now, under the lock: every write acknowledged by any replica is in it. Ages come
      // from the draft (a manifest or blob that arrived since is young), so the lock is not held
      // for a listing of the blobs; the removals re-check their files' ages.
      const plan = await this.plan(repo, index, cutoff, draft);
      const records: IndexRecord[] = [];
      for (const m of plan.manifests) {
        records.push({ op: "drop", digest: m.digest });
        const digest = parseDigest(m.digest);
        const bytes = await this.sizeOf(repo, digest);
        // A PUT of the same manifest later in this batch cancels this (and writes the record back).
        batch.blobDeletes.set(m.digest, async () => {
          if (await this.blobs.delete(repo, digest)) report({ repository: repo, kind: "manifest", digest: m.digest, bytes });
        });
      }
      for (const b of plan.blobs) {
        // Removed only if the file taken away is still older than the delay (touched by a mount,
        // replaced by an upload meanwhile: kept). A PUT later in this batch that needs it cancels this.
        batch.blobDeletes.set(b.digest.value, async () => {
          const { removed, size } = await this.fs.removeUnless(blobPath(this.root, repo, b.digest), (info) => info.mtimeMs > cutoff);
          if (removed) report({ repository: repo, kind: "blob", digest: b.digest.value, bytes: size });
        });
      }
      return { records, value: undefined };
    });
  }

  /**
   * Kept: tagged manifests, manifests some manifest of the repository names as its subject,
   * untagged ones younger than the delay, and (transitively) the child manifests of kept indexes
   * and the referrers whose subject is kept; their configs and layers.
   * Everything else is planned for removal: manifests in the index, blobs older than the delay.
   */
  private async plan(repo: string, index: RepositoryIndex, cutoff: number, draft?: Plan): Promise<Plan> {
    const manifests = [...index.allManifests()];
    const referrersOf = new Map<string, string[]>();
    for (const m of manifests) {
      const subject = (await this.refsOf(repo, m.digest))?.subject;
      if (subject !== undefined) referrersOf.set(subject, [...(referrersOf.get(subject) ?? []), m.digest]);
    }
    const kept = new Set<string>();
    const needed = new Set<string>();
    const work: string[] = [];
    const keep = (digest: string) => {
      if (kept.has(digest)) return;
      kept.add(digest);
      work.push(digest);
    };
    const old = new Set<string>();
    for (const m of manifests) {
      // A manifest something refers to as its subject (a signature, an SBOM) is kept with it: zot keeps
      // untagged manifests "referenced by indexes or artifacts"; only orphaned referrers go.
      if (index.tagsPointingAt(m.digest).length > 0 || referrersOf.has(m.digest)) keep(m.digest);
      // Under the lock only the draft's old ones are stat'ed again: one pushed again since is young.
      else if ((draft && !draft.old.has(m.digest)) || (await this.isYoung(repo, m.digest, cutoff))) keep(m.digest);
      else old.add(m.digest);
    }
    while (work.length > 0) {
      const digest = work.pop()!;
      needed.add(digest);
      const refs = await this.refsOf(repo, digest);
      for (const blob of refs?.blobs ?? []) needed.add(blob);
      for (const child of refs?.children ?? []) {
        if (index.manifest(child)) keep(child);
        else needed.add(child);
      }
      for (const referrer of referrersOf.get(digest) ?? []) keep(referrer);
    }
    const dropped = manifests.filter((m) => !kept.has(m.digest));
    if (draft) {
      const blobs = draft.blobs.filter((b) => !needed.has(b.digest.value) && index.manifest(b.digest.value) === undefined);
      return { manifests: dropped, blobs, old };
    }
    const blobs: Plan["blobs"] = [];
    for (const algorithm of await listDirectory(blobsPath(this.root, repo))) {
      if (!algorithm.isDirectory() || HEX_LENGTH[algorithm.name] === undefined) continue;
      for (const entry of await listDirectory(blobAlgorithmPath(this.root, repo, algorithm.name))) {
        const value = `${algorithm.name}:${entry.name}`;
        // Temp files and anything not named like a digest are the temp sweep's, not ours.
        if (!entry.isFile() || entry.name.length !== HEX_LENGTH[algorithm.name] || !/^[0-9a-f]+$/.test(entry.name)) continue;
        if (needed.has(value) || index.manifest(value)) continue;
        try {
          const info = await stat(blobPath(this.root, repo, parseDigest(value)));
          if (info.mtimeMs <= cutoff) blobs.push({ digest: parseDigest(value), bytes: info.size });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
    return { manifests: dropped, blobs, old };
  }

  private async isYoung(repo: string, digest: string, cutoff: number): Promise<boolean> {
    try {
      return (await stat(blobPath(this.root, repo, parseDigest(digest)))).mtimeMs > cutoff;
    } catch (err) {
      // A manifest without bytes (a zot root damaged by hand) is not ours to judge: kept.
      if (isNotFound(err)) return true;
      throw err;
    }
  }

  private async sizeOf(repo: string, digest: Digest): Promise<number> {
    return (await this.blobs.stat(repo, digest)) ?? 0;
  }

  /** null: the manifest's bytes are missing (it refers to nothing we can know of). */
  private async refsOf(repo: string, digest: string): Promise<Refs | null> {
    const known = this.refs.get(digest);
    if (known !== undefined) return known;
    let body: Buffer;
    try {
      body = await readFile(blobPath(this.root, repo, parseDigest(digest)));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    let refs: Refs;
    try {
      const parsed = parseManifest(body);
      refs = parsed.kind === "image" ? { blobs: parsed.blobs, children: [] } : { blobs: [], children: parsed.manifests.map((m) => m.digest) };
      if (parsed.subject) refs.subject = parsed.subject.digest;
    } catch (err) {
      // What it needs is unknown, so nothing in its repository can be shown unneeded.
      throw new Unparseable(`manifest ${digest} does not parse (${err instanceof Error ? err.message : String(err)}); nothing collected`);
    }
    this.refs.set(digest, refs);
    return refs;
  }
}

import { readFile } from "node:fs/promises";
import {
  type Descriptor,
  type Digest,
  OciError,
  type ParsedManifest,
  effectiveArtifactType,
  isDigest,
  parseDigest,
  parseManifest,
} from "@berth/oci";
import { isNotFound } from "./atomic-file.js";
import type { BlobStore } from "./blob-store.js";
import { ManifestCache } from "./manifest-cache.js";
import type { IndexRecord, RepositoryIndex } from "./repository-index.js";
import type { Batch, RepositoryIndexes } from "./repository-indexes.js";
import { blobPath } from "./paths.js";

export interface StoredManifest {
  digest: string;
  mediaType: string;
  body: Buffer;
}

export interface PutManifestInput {
  /** A tag, or the manifest's digest for a push by digest. */
  reference: string;
  body: Buffer;
  digest: Digest;
  parsed: ParsedManifest;
}

export interface PutManifestResult {
  /** False when the reference already pointed at this exact manifest. */
  changed: boolean;
}

export interface DeletedManifest {
  digest: string;
  mediaType: string;
  /** Tags that pointed at the manifest and are gone now. */
  tags: string[];
}

export interface ManifestStore {
  /** MANIFEST_BLOB_UNKNOWN unless what `parsed` refers to is in `repo` (put checks it too). */
  requireReferences(repo: string, parsed: ParsedManifest): Promise<void>;
  get(repo: string, reference: string): Promise<StoredManifest>;
  put(repo: string, input: PutManifestInput): Promise<PutManifestResult>;
  delete(repo: string, reference: string): Promise<DeletedManifest>;
  /**
   * Removes a blob no manifest of `repo` needs; false when it was not there. A blob that is a
   * manifest's config, layer or child manifest, or a manifest itself, is refused as zot does:
   * DENIED with status 405 naming the manifest (delete the manifest first).
   */
  deleteBlob(repo: string, digest: Digest): Promise<boolean>;
}

export interface TagStore {
  /** Byte-wise sorted (shared: callers must not mutate it). */
  tags(repo: string): Promise<readonly string[]>;
}

export interface ReferrerStore {
  /** Descriptors of manifests in `repo` whose `subject` is `digest` (spec "Listing Referrers"). */
  referrers(repo: string, digest: string): Promise<Descriptor[]>;
}

const MAX_REFERRER_INFO = 100_000;

interface ReferrerInfo {
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Manifests are blobs plus an entry in the repository's index (tags.log, drawn as index.json).
 * Reads go through the revalidated in-memory index and a bytes cache (content-addressed bytes
 * never change, so only the index needs revalidating); writes store the blob first, then append
 * the index record under the repository's lock.
 */
export class FsManifestStore implements ManifestStore, TagStore, ReferrerStore {
  private readonly cache = new ManifestCache();
  private readonly referrerInfo = new Map<string, ReferrerInfo>();

  constructor(
    private readonly root: string,
    private readonly indexes: RepositoryIndexes,
    private readonly blobs: BlobStore,
  ) {}

  async get(repo: string, reference: string): Promise<StoredManifest> {
    const index = await this.indexes.read(repo);
    const entry = isDigest(reference) ? index.manifest(reference) : index.tagged(reference);
    if (!entry) throw unknownManifest(reference);
    const body = await this.bytes(repo, entry.digest);
    if (!body) throw unknownManifest(reference);
    return { digest: entry.digest, mediaType: entry.mediaType, body };
  }

  async put(repo: string, input: PutManifestInput): Promise<PutManifestResult> {
    await this.requireReferences(repo, input.parsed);
    await this.blobs.writeBytes(repo, input.digest, input.body);
    this.cache.set(input.digest.value, input.body);
    const entry: Descriptor = { mediaType: input.parsed.mediaType, digest: input.digest.value, size: input.body.length };
    if (input.parsed.artifactType) entry.artifactType = input.parsed.artifactType;
    const tag = input.reference === input.digest.value ? undefined : input.reference;
    const changed = await this.indexes.update(repo, async (index, batch) => {
      // Under the lock, where garbage collection removes blobs: what the manifest refers to is
      // still there when its record lands (see "Garbage collection" in the README).
      await this.requireReferencesLocked(repo, input.parsed, index, batch);
      // Under the lock, where a DELETE removes manifest bytes: whatever happened since the write
      // above, the bytes are there when the record lands (issue 14's tag-PUT vs DELETE race).
      if (!batch.blobDeletes.delete(entry.digest)) await this.blobs.writeBytes(repo, input.digest, input.body);
      const known = index.manifest(entry.digest);
      if (tag === undefined) {
        return known ? { records: [], value: false } : { records: [{ op: "manifest", m: entry }], value: true };
      }
      const current = index.tagged(tag);
      if (current?.digest === entry.digest && current.mediaType === entry.mediaType) return { records: [], value: false };
      return { records: [{ op: "tag", tag, m: entry }], value: true };
    });
    return { changed };
  }

  async delete(repo: string, reference: string): Promise<DeletedManifest> {
    const deleted = await this.indexes.update(repo, async (index, batch) => {
      if (!isDigest(reference)) {
        const entry = index.tagged(reference);
        if (!entry) throw unknownManifest(reference);
        const records: IndexRecord[] = [{ op: "untag", tag: reference }];
        return { records, value: { digest: entry.digest, mediaType: entry.mediaType, tags: [reference] } };
      }
      const entry = index.manifest(reference);
      if (!entry) throw unknownManifest(reference);
      const tags = index.tagsPointingAt(reference);
      const digest = parseDigest(entry.digest);
      // Removed once the drop record is durable, still under the lock (see put).
      batch.blobDeletes.set(entry.digest, () => {
        this.cache.delete(entry.digest);
        return this.blobs.delete(repo, digest);
      });
      const records: IndexRecord[] = [{ op: "drop", digest: entry.digest }];
      return { records, value: { digest: entry.digest, mediaType: entry.mediaType, tags } };
    });
    if (isDigest(reference)) this.cache.delete(deleted.digest);
    return deleted;
  }

  async deleteBlob(repo: string, digest: Digest): Promise<boolean> {
    const holder = await this.manifestNeeding(repo, digest.value);
    if (holder !== undefined) {
      throw new OciError("DENIED", "the blob is referenced by a manifest of this repository; delete the manifest first", {
        status: 405,
        detail: { digest: digest.value, manifest: holder },
      });
    }
    return this.blobs.delete(repo, digest);
  }

  /** The digest of a manifest in `repo` that is `digest` or refers to it (config, layer, child). */
  private async manifestNeeding(repo: string, digest: string): Promise<string | undefined> {
    const index = await this.indexes.read(repo);
    if (index.manifest(digest)) return digest;
    for (const entry of [...index.allManifests()]) {
      const body = await this.bytes(repo, entry.digest);
      if (!body) continue;
      let parsed: ParsedManifest;
      try {
        parsed = parseManifest(body);
      } catch {
        continue; // a manifest zot accepted that we cannot parse: nothing we can tell it needs
      }
      const needs = parsed.kind === "image" ? parsed.blobs : parsed.manifests.map((m) => m.digest);
      if (needs.includes(digest)) return entry.digest;
    }
    return undefined;
  }

  async tags(repo: string): Promise<readonly string[]> {
    return (await this.indexes.read(repo)).sortedTags();
  }

  async referrers(repo: string, digest: string): Promise<Descriptor[]> {
    const index = await this.indexes.read(repo);
    const result: Descriptor[] = [];
    for (const entry of index.allManifests()) {
      const info = await this.info(repo, entry.digest);
      if (info?.subject !== digest) continue;
      const descriptor: Descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
      if (info.artifactType) descriptor.artifactType = info.artifactType;
      if (info.annotations && Object.keys(info.annotations).length) descriptor.annotations = info.annotations;
      result.push(descriptor);
    }
    return result;
  }

  /** MANIFEST_BLOB_UNKNOWN unless every blob (image) or child manifest (index) is in the repository. */
  async requireReferences(repo: string, parsed: ParsedManifest): Promise<void> {
    const needed = parsed.kind === "image" ? parsed.blobs : parsed.manifests.map((m) => m.digest);
    const index = parsed.kind === "index" ? await this.indexes.read(repo) : undefined;
    for (const digest of new Set(needed)) {
      const present = index
        ? index.manifest(digest) !== undefined || (await this.blobs.stat(repo, parseDigest(digest))) !== undefined
        : (await this.blobs.stat(repo, parseDigest(digest))) !== undefined;
      if (!present) {
        throw new OciError("MANIFEST_BLOB_UNKNOWN", undefined, { detail: { digest } });
      }
    }
  }

  /**
   * `requireReferences` again, under the repository's lock and against the batch's state: a
   * removal an earlier op of this batch queued (garbage collection, DELETE) is cancelled for a
   * blob the manifest needs; a child manifest dropped by this batch is unknown. A blob collected
   * since the check outside the lock is MANIFEST_BLOB_UNKNOWN, never a manifest without its blobs.
   */
  private async requireReferencesLocked(repo: string, parsed: ParsedManifest, index: RepositoryIndex, batch: Batch): Promise<void> {
    const needed = parsed.kind === "image" ? parsed.blobs : parsed.manifests.map((m) => m.digest);
    for (const digest of new Set(needed)) {
      const pendingRemoval = batch.blobDeletes.delete(digest);
      if (parsed.kind === "index" && index.manifest(digest) !== undefined) continue;
      const present = !(parsed.kind === "index" && pendingRemoval) && (await this.blobs.stat(repo, parseDigest(digest))) !== undefined;
      if (!present) throw new OciError("MANIFEST_BLOB_UNKNOWN", undefined, { detail: { digest } });
    }
  }

  private async bytes(repo: string, digest: string): Promise<Buffer | undefined> {
    const cached = this.cache.get(digest);
    if (cached) return cached;
    try {
      const body = await readFile(blobPath(this.root, repo, parseDigest(digest)));
      this.cache.set(digest, body);
      return body;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async info(repo: string, digest: string): Promise<ReferrerInfo | undefined> {
    const known = this.referrerInfo.get(digest);
    if (known) return known;
    const body = await this.bytes(repo, digest);
    if (!body) return undefined;
    let info: ReferrerInfo = {};
    try {
      const parsed = parseManifest(body);
      info = { annotations: parsed.annotations };
      if (parsed.subject) info.subject = parsed.subject.digest;
      const artifactType = effectiveArtifactType(parsed);
      if (artifactType) info.artifactType = artifactType;
    } catch {
      // A manifest zot accepted that we cannot parse has no subject for our purposes.
    }
    if (this.referrerInfo.size >= MAX_REFERRER_INFO) this.referrerInfo.clear();
    this.referrerInfo.set(digest, info);
    return info;
  }
}

function unknownManifest(reference: string): OciError {
  return new OciError("MANIFEST_UNKNOWN", undefined, { detail: { reference: reference.slice(0, 200) } });
}

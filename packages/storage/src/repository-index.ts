import type { Descriptor } from "@berth/oci";
import { type OciIndex, REF_NAME_ANNOTATION, compareLexically, emptyIndex, tagOf } from "./oci-index.js";

/**
 * One change to a repository's manifests and tags: a line of its tags.log. The log replayed from
 * its header gives the repository's state; index.json is that state drawn as an OCI image index.
 */
export type IndexRecord =
  /** `tag` points at manifest `m` (which becomes part of the repository). */
  | { op: "tag"; tag: string; m: Descriptor }
  /** Manifest `m` is part of the repository (a push by digest). */
  | { op: "manifest"; m: Descriptor }
  /** `tag` is gone; its manifest stays, reachable by digest. */
  | { op: "untag"; tag: string }
  /** Manifest `digest` and every tag pointing at it are gone. */
  | { op: "drop"; digest: string };

/**
 * A repository's manifests and tags in memory: lookups by tag and digest are map reads, and the
 * sorted tag list is kept up to date by binary insertion once someone has asked for it, so a
 * `tags/list` page costs a slice, not a sort, at 100,000 tags.
 */
export class RepositoryIndex {
  /** Every manifest of the repository (tagged or not), in the order they arrived. */
  private readonly manifests = new Map<string, Descriptor>();
  /** tag → digest, in the order tags were set. */
  private readonly tags = new Map<string, string>();
  /** digest → its tags: one string in the common case of one tag per manifest (no Set per manifest). */
  private readonly tagsOf = new Map<string, string | Set<string>>();
  private sorted: string[] | undefined;

  static fromOciIndex(index: OciIndex): RepositoryIndex {
    const state = new RepositoryIndex();
    for (const record of recordsOfOciIndex(index)) state.apply(record);
    return state;
  }

  get size(): number {
    return this.manifests.size + this.tags.size;
  }

  manifest(digest: string): Descriptor | undefined {
    return this.manifests.get(digest);
  }

  tagged(tag: string): Descriptor | undefined {
    const digest = this.tags.get(tag);
    return digest === undefined ? undefined : this.manifests.get(digest);
  }

  tagsPointingAt(digest: string): string[] {
    const tags = this.tagsOf.get(digest);
    return tags === undefined ? [] : typeof tags === "string" ? [tags] : [...tags];
  }

  allManifests(): IterableIterator<Descriptor> {
    return this.manifests.values();
  }

  /** The tags, byte-wise sorted (shared: callers must not mutate it). */
  sortedTags(): readonly string[] {
    this.sorted ??= [...this.tags.keys()].sort(compareLexically);
    return this.sorted;
  }

  apply(record: IndexRecord): void {
    switch (record.op) {
      case "manifest":
        if (!this.manifests.has(record.m.digest)) this.manifests.set(record.m.digest, compact(record.m));
        return;
      case "tag": {
        const known = this.manifests.get(record.m.digest);
        if (!known || known.mediaType !== record.m.mediaType) this.manifests.set(record.m.digest, compact(record.m));
        this.untag(record.tag);
        this.tags.set(record.tag, record.m.digest);
        const tags = this.tagsOf.get(record.m.digest);
        if (tags === undefined) this.tagsOf.set(record.m.digest, record.tag);
        else if (typeof tags === "string") this.tagsOf.set(record.m.digest, new Set([tags, record.tag]));
        else tags.add(record.tag);
        if (this.sorted) this.sorted.splice(firstAfter(this.sorted, record.tag), 0, record.tag);
        return;
      }
      case "untag":
        this.untag(record.tag);
        return;
      case "drop":
        for (const tag of this.tagsPointingAt(record.digest)) this.untag(tag);
        this.manifests.delete(record.digest);
        return;
    }
  }

  /** The records that rebuild this state (a compacted log's body). */
  *records(): Generator<IndexRecord> {
    for (const [digest, m] of this.manifests) if (!this.tagsOf.has(digest)) yield { op: "manifest", m };
    for (const [tag, digest] of this.tags) yield { op: "tag", tag, m: this.manifests.get(digest)! };
  }

  /** The state as index.json: untagged manifests, then one entry per tag (zot's shape). */
  toOciIndex(): OciIndex {
    const index = emptyIndex();
    for (const record of this.records()) {
      if (record.op === "manifest") index.manifests.push(record.m);
      else if (record.op === "tag") {
        index.manifests.push({ ...record.m, annotations: { ...record.m.annotations, [REF_NAME_ANNOTATION]: record.tag } });
      }
    }
    return index;
  }

  /**
   * index.json's text in pieces of up to `perChunk` entries (same bytes as serialising
   * `toOciIndex()`), so a 100,000-tag view is never a second object graph in memory.
   */
  toOciIndexChunks(perChunk = 1000): string[] {
    const head = JSON.stringify(emptyIndex()).slice(0, -2); // `{…,"manifests":[`, then the entries
    const chunks = [head];
    let entries: string[] = [];
    let first = true;
    const flush = () => {
      chunks.push((first ? "" : ",") + entries.join(","));
      first = false;
      entries = [];
    };
    for (const record of this.records()) {
      const entry =
        record.op === "tag" ? { ...record.m, annotations: { ...record.m.annotations, [REF_NAME_ANNOTATION]: record.tag } } : record.op === "manifest" ? record.m : undefined;
      if (entry === undefined) continue;
      entries.push(JSON.stringify(entry));
      if (entries.length >= perChunk) flush();
    }
    if (entries.length > 0) flush();
    chunks.push("]}");
    return chunks;
  }

  private untag(tag: string): void {
    const digest = this.tags.get(tag);
    if (digest === undefined) return;
    this.tags.delete(tag);
    const tags = this.tagsOf.get(digest);
    if (tags === tag) this.tagsOf.delete(digest);
    else if (typeof tags === "object") {
      tags.delete(tag);
      if (tags.size === 1) this.tagsOf.set(digest, tags.values().next().value as string);
    }
    if (this.sorted) {
      const at = firstAfter(this.sorted, tag) - 1;
      if (this.sorted[at] === tag) this.sorted.splice(at, 1);
    }
  }
}

/** A handful of media types repeat across every manifest: one string each, not one per descriptor. */
const internedMediaTypes = new Map<string, string>();

function compact(m: Descriptor): Descriptor {
  const shared = internedMediaTypes.get(m.mediaType);
  // Same value, shared instance: the parsed copy can be collected.
  if (shared !== undefined) m.mediaType = shared;
  else if (internedMediaTypes.size < 256) internedMediaTypes.set(m.mediaType, m.mediaType);
  return m;
}

/** index.json (ours or zot's) as records: an entry with a ref.name is a tag, one without a manifest. */
export function* recordsOfOciIndex(index: OciIndex): Generator<IndexRecord> {
  for (const entry of index.manifests) {
    const tag = tagOf(entry);
    if (tag === undefined) {
      yield { op: "manifest", m: entry };
      continue;
    }
    const { annotations, ...rest } = entry;
    const kept = { ...annotations };
    delete kept[REF_NAME_ANNOTATION];
    yield { op: "tag", tag, m: Object.keys(kept).length ? { ...rest, annotations: kept } : rest };
  }
}

/** Binary search in a byte-wise sorted list: the index of the first entry strictly after `value`. */
export function firstAfter(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

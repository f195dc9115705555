import type { Descriptor } from "@berth/oci";
import { MEDIA_TYPES } from "@berth/oci";

/**
 * The repository's `index.json` (image-spec image-layout "index.json file"): pure functions over
 * it. A tag is the `org.opencontainers.image.ref.name` annotation of an entry; a manifest pushed by
 * digest is an entry without it. zot writes the same shape.
 */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export function emptyIndex(): OciIndex {
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] };
}

/** Tolerant reader: an index.json written by zot or by us; unknown fields are kept. */
export function parseIndex(text: string): OciIndex {
  const doc = JSON.parse(text) as Partial<OciIndex>;
  const manifests = Array.isArray(doc.manifests) ? doc.manifests.filter(isDescriptorLike) : [];
  return { ...doc, schemaVersion: 2, manifests } as OciIndex;
}

function isDescriptorLike(value: unknown): value is Descriptor {
  const d = value as Partial<Descriptor> | null;
  return typeof d === "object" && d !== null && typeof d.digest === "string" && typeof d.mediaType === "string";
}

export function serializeIndex(index: OciIndex): string {
  return JSON.stringify(index);
}

export function tagOf(entry: Descriptor): string | undefined {
  return entry.annotations?.[REF_NAME_ANNOTATION];
}

export function findByTag(index: OciIndex, tag: string): Descriptor | undefined {
  for (let i = index.manifests.length - 1; i >= 0; i--) {
    const entry = index.manifests[i]!;
    if (tagOf(entry) === tag) return entry;
  }
  return undefined;
}

export function findByDigest(index: OciIndex, digest: string): Descriptor | undefined {
  return index.manifests.find((entry) => entry.digest === digest);
}

export function listTags(index: OciIndex): string[] {
  const tags = new Set<string>();
  for (const entry of index.manifests) {
    const tag = tagOf(entry);
    if (tag !== undefined) tags.add(tag);
  }
  return [...tags].sort(compareLexically);
}

/** Byte-wise order, as the spec's "lexically" is read by Go registries (not locale order). */
export function compareLexically(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface TagChange {
  /** The digest the tag pointed at before, if any. */
  previous?: string;
  changed: boolean;
}

/** Points `tag` at `entry` (replacing its old entry and an untagged entry of the same digest). */
export function setTag(index: OciIndex, tag: string, entry: Descriptor): TagChange {
  const previous = findByTag(index, tag);
  if (previous?.digest === entry.digest && previous.mediaType === entry.mediaType) {
    return { previous: previous.digest, changed: false };
  }
  index.manifests = index.manifests.filter(
    (e) => tagOf(e) !== tag && !(e.digest === entry.digest && tagOf(e) === undefined),
  );
  index.manifests.push({ ...entry, annotations: { ...entry.annotations, [REF_NAME_ANNOTATION]: tag } });
  return previous ? { previous: previous.digest, changed: true } : { changed: true };
}

/** Records an untagged manifest; no change when the digest is already present. */
export function addUntagged(index: OciIndex, entry: Descriptor): boolean {
  if (findByDigest(index, entry.digest)) return false;
  index.manifests.push(entry);
  return true;
}

/** Removes a tag; the manifest stays reachable by digest (an untagged entry is kept). */
export function removeTag(index: OciIndex, tag: string): Descriptor | undefined {
  const entry = findByTag(index, tag);
  if (!entry) return undefined;
  index.manifests = index.manifests.filter((e) => tagOf(e) !== tag);
  if (!findByDigest(index, entry.digest)) {
    const { annotations, ...rest } = entry;
    const kept = { ...annotations };
    delete kept[REF_NAME_ANNOTATION];
    index.manifests.push(Object.keys(kept).length ? { ...rest, annotations: kept } : rest);
  }
  return entry;
}

/** Removes every entry of `digest` (all its tags); returns the removed entries. */
export function removeDigest(index: OciIndex, digest: string): Descriptor[] {
  const removed = index.manifests.filter((e) => e.digest === digest);
  index.manifests = index.manifests.filter((e) => e.digest !== digest);
  return removed;
}

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { serializeIndex } from "./oci-index.js";
import { type IndexRecord, RepositoryIndex } from "./repository-index.js";

const MEDIA = "application/vnd.oci.image.manifest.v1+json";
const digest = (n: number) => `sha256:${String(n).padStart(64, "0")}`;
const tag = fc.constantFrom("a", "b", "B", "latest", "v1", "v1.0", "v10", "v2", "_x", "z-1");
const record: fc.Arbitrary<IndexRecord> = fc.oneof(
  fc.record({ op: fc.constant("tag" as const), tag, m: fc.nat(4).map((n) => ({ mediaType: MEDIA, digest: digest(n), size: n })) }),
  fc.record({ op: fc.constant("manifest" as const), m: fc.nat(4).map((n) => ({ mediaType: MEDIA, digest: digest(n), size: n })) }),
  fc.record({ op: fc.constant("untag" as const), tag }),
  fc.record({ op: fc.constant("drop" as const), digest: fc.nat(4).map(digest) }),
);

/** The obvious model: a tag → digest map and a set of digests, replayed from scratch. */
function model(records: IndexRecord[]): { tags: Map<string, string>; manifests: Set<string> } {
  const tags = new Map<string, string>();
  const manifests = new Set<string>();
  for (const r of records) {
    if (r.op === "tag") {
      manifests.add(r.m.digest);
      tags.set(r.tag, r.m.digest);
    } else if (r.op === "manifest") manifests.add(r.m.digest);
    else if (r.op === "untag") tags.delete(r.tag);
    else {
      manifests.delete(r.digest);
      for (const [t, d] of tags) if (d === r.digest) tags.delete(t);
    }
  }
  return { tags, manifests };
}

describe("RepositoryIndex", () => {
  it("matches a replayed model after any sequence of records, with the sorted tag list kept by insertion", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 60 }), fc.nat(60), (records, askAt) => {
        const index = new RepositoryIndex();
        records.forEach((r, i) => {
          if (i === askAt) index.sortedTags(); // from here on the list is maintained, not rebuilt
          index.apply(r);
        });
        const expected = model(records);
        assert.deepEqual([...index.sortedTags()], [...expected.tags.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        for (const [t, d] of expected.tags) assert.equal(index.tagged(t)?.digest, d);
        assert.deepEqual(new Set([...index.allManifests()].map((m) => m.digest)), expected.manifests);
        // The log a compaction writes rebuilds the same state; index.json holds every tag.
        const rebuilt = new RepositoryIndex();
        for (const r of index.records()) rebuilt.apply(r);
        assert.deepEqual([...rebuilt.sortedTags()], [...index.sortedTags()]);
        assert.deepEqual(RepositoryIndex.fromOciIndex(index.toOciIndex()).sortedTags(), index.sortedTags());
        assert.equal(index.toOciIndexChunks(3).join(""), serializeIndex(index.toOciIndex()), "index.json written in pieces");
      }),
      { numRuns: 300 },
    );
  });
});

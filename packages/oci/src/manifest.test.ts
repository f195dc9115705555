import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { digestOf } from "./digest.js";
import { OciError } from "./errors.js";
import { MAX_MANIFEST_BYTES, effectiveArtifactType, parseManifest } from "./manifest.js";

const d1 = digestOf("config");
const d2 = digestOf("layer");
const body = (doc: unknown) => Buffer.from(JSON.stringify(doc));

describe("manifest parsing", () => {
  it("an OCI image manifest lists config + layers as required blobs", () => {
    const m = parseManifest(
      body({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: d1, size: 6 },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: d2, size: 5 }],
      }),
    );
    assert.equal(m.kind, "image");
    assert.deepEqual(m.blobs, [d1, d2]);
    assert.equal(effectiveArtifactType(m), "application/vnd.oci.image.config.v1+json");
  });

  it("an index lists its manifests; Docker lists too; mediaType may come from Content-Type", () => {
    const doc = { schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d1, size: 1 }] };
    assert.equal(parseManifest(body(doc)).kind, "index");
    const docker = parseManifest(body(doc), "application/vnd.docker.distribution.manifest.list.v2+json");
    assert.equal(docker.mediaType, "application/vnd.docker.distribution.manifest.list.v2+json");
    assert.deepEqual(docker.manifests.map((m) => m.digest), [d1]);
  });

  it("artifacts keep artifactType and subject", () => {
    const m = parseManifest(
      body({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: "application/x.example",
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: d1, size: 2 },
        layers: [],
        subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d2, size: 10 },
      }),
    );
    assert.equal(m.artifactType, "application/x.example");
    assert.equal(m.subject?.digest, d2);
    assert.equal(effectiveArtifactType(m), "application/x.example");
  });

  it("refuses a Content-Type that contradicts the body's mediaType", () => {
    const doc = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] };
    assert.throws(() => parseManifest(body(doc), "application/vnd.oci.image.manifest.v1+json"), (e: unknown) => e instanceof OciError && e.code === "MANIFEST_INVALID");
  });

  it("over 4 MiB is SIZE_INVALID with 413", () => {
    assert.throws(() => parseManifest(Buffer.alloc(MAX_MANIFEST_BYTES + 1)), (e: unknown) => e instanceof OciError && e.code === "SIZE_INVALID" && e.status === 413);
  });

  it("property: arbitrary JSON values and bytes never escape as anything but an OciError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.json().map((j) => Buffer.from(j)), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b))), (bytes) => {
        try {
          parseManifest(bytes);
        } catch (err) {
          assert.ok(err instanceof OciError, String(err));
          assert.ok(err.status >= 400 && err.status < 500);
        }
      }),
    );
  });
});

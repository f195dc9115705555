import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { call, pushBlob, pushImage, pushManifest } from "./test-support/client.js";
import { descriptor, makeImage, makeIndex, sha256 } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

describe("manifests API", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  it("PUT by tag (201, Location, digest), then GET/HEAD by tag and by digest", async () => {
    const image = makeImage();
    const put = await pushImage(reg.url, "m/app", "v1", image);
    assert.equal(put.headers.get("location"), `/v2/m/app/manifests/${image.digest}`);
    assert.equal(put.headers.get("docker-content-digest"), image.digest);
    for (const ref of ["v1", image.digest]) {
      const get = await call(reg.url, "GET", `/v2/m/app/manifests/${ref}`);
      assert.equal(get.status, 200);
      assert.equal(get.text, image.manifest.toString("utf8"));
      assert.equal(get.headers.get("content-type"), OCI_MANIFEST);
      assert.equal(get.headers.get("docker-content-digest"), image.digest);
      const head = await call(reg.url, "HEAD", `/v2/m/app/manifests/${ref}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-length"), String(image.manifest.length));
    }
  });

  it("PUT by digest; a body that does not match the digest is DIGEST_INVALID", async () => {
    const image = makeImage();
    await pushImage(reg.url, "m/bydigest", image.digest, image);
    assert.equal((await call(reg.url, "GET", `/v2/m/bydigest/manifests/${image.digest}`)).status, 200);
    const wrong = await pushManifest(reg.url, "m/bydigest", sha256("other"), image.manifest, OCI_MANIFEST);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.code(), "DIGEST_INVALID");
  });

  it("stores Docker schema 2 manifests and manifest lists with their media type", async () => {
    const image = makeImage();
    for (const blob of [image.config, ...image.layers]) await pushBlob(reg.url, "m/docker", blob.digest, blob.data);
    const doc = JSON.parse(image.manifest.toString()) as Record<string, unknown>;
    doc["mediaType"] = DOCKER_MANIFEST;
    const body = Buffer.from(JSON.stringify(doc));
    assert.equal((await pushManifest(reg.url, "m/docker", "d1", body, DOCKER_MANIFEST)).status, 201);
    const list = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ mediaType: DOCKER_MANIFEST, digest: sha256(body), size: body.length, platform: { architecture: "amd64", os: "linux" } }] }),
    );
    assert.equal((await pushManifest(reg.url, "m/docker", "list", list, DOCKER_LIST)).status, 201);
    const get = await call(reg.url, "GET", "/v2/m/docker/manifests/list");
    assert.equal(get.headers.get("content-type"), DOCKER_LIST);
  });

  it("an OCI index requires its manifests to exist: MANIFEST_BLOB_UNKNOWN otherwise", async () => {
    const amd = makeImage({ arch: "amd64" });
    const arm = makeImage({ arch: "arm64" });
    await pushImage(reg.url, "m/multi", amd.digest, amd);
    const index = makeIndex([amd, arm], ["amd64", "arm64"]);
    const missing = await pushManifest(reg.url, "m/multi", "all", index.body, index.mediaType);
    assert.equal(missing.status, 400);
    assert.equal(missing.code(), "MANIFEST_BLOB_UNKNOWN");
    await pushImage(reg.url, "m/multi", arm.digest, arm);
    assert.equal((await pushManifest(reg.url, "m/multi", "all", index.body, index.mediaType)).status, 201);
  });

  it("MANIFEST_BLOB_UNKNOWN when an image's blobs are missing (and no repository is created)", async () => {
    const image = makeImage();
    const res = await pushManifest(reg.url, "m/noblobs", "v1", image.manifest, OCI_MANIFEST);
    assert.equal(res.status, 400);
    assert.equal(res.code(), "MANIFEST_BLOB_UNKNOWN");
    assert.equal((await call(reg.url, "GET", "/v2/m/noblobs/tags/list")).code(), "NAME_UNKNOWN");
  });

  it("MANIFEST_INVALID for bodies that are not manifests", async () => {
    const bodies = ["not json", "[]", "{}", JSON.stringify({ schemaVersion: 1 }), JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] })];
    for (const body of bodies) {
      const res = await pushManifest(reg.url, "m/invalid", "v1", Buffer.from(body), OCI_MANIFEST);
      assert.equal(res.status, 400, body);
      assert.equal(res.code(), "MANIFEST_INVALID", body);
    }
  });

  it("refuses a manifest over 4 MiB with 413 SIZE_INVALID", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const res = await pushManifest(reg.url, "m/big", "v1", big, OCI_MANIFEST);
    assert.equal(res.status, 413);
    assert.equal(res.code(), "SIZE_INVALID");
  });

  it("artifacts with a subject: OCI-Subject header, referrers list them, artifactType filter", async () => {
    const subject = makeImage();
    await pushImage(reg.url, "m/art", "v1", subject);
    const sbom = makeImage({ artifactType: "application/spdx+json", subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length }, annotations: { "org.example": "x" } });
    const sig = makeImage({ artifactType: "application/vnd.dev.cosign", subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length } });
    const put = await pushImage(reg.url, "m/art", sbom.digest, sbom);
    assert.equal(put.headers.get("oci-subject"), subject.digest);
    await pushImage(reg.url, "m/art", sig.digest, sig);

    const all = await call(reg.url, "GET", `/v2/m/art/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get("content-type"), "application/vnd.oci.image.index.v1+json");
    const index = all.json() as { manifests: Array<{ digest: string; artifactType: string; annotations?: Record<string, string> }> };
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [sbom.digest, sig.digest].sort());
    assert.deepEqual(index.manifests.find((m) => m.digest === sbom.digest)?.annotations, { "org.example": "x" });

    const filtered = await call(reg.url, "GET", `/v2/m/art/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`);
    assert.equal(filtered.headers.get("oci-filters-applied"), "artifactType");
    assert.deepEqual((filtered.json() as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest), [sbom.digest]);

    const none = await call(reg.url, "GET", `/v2/m/art/referrers/${sha256("no subject")}`);
    assert.equal(none.status, 200);
    assert.deepEqual((none.json() as { manifests: unknown[] }).manifests, []);
    assert.equal((await call(reg.url, "GET", "/v2/m/art/referrers/sha256:bad")).code(), "DIGEST_INVALID");
  });

  it("MANIFEST_UNKNOWN for an unknown tag or digest; NAME_UNKNOWN for an unknown repository", async () => {
    await pushImage(reg.url, "m/known", "v1", makeImage());
    const tag = await call(reg.url, "GET", "/v2/m/known/manifests/nope");
    assert.equal(tag.status, 404);
    assert.equal(tag.code(), "MANIFEST_UNKNOWN");
    assert.equal((await call(reg.url, "GET", `/v2/m/known/manifests/${sha256("x")}`)).code(), "MANIFEST_UNKNOWN");
    const repo = await call(reg.url, "GET", "/v2/m/unknown-repo/manifests/v1");
    assert.equal(repo.status, 404);
    assert.equal(repo.code(), "NAME_UNKNOWN");
  });

  it("DELETE by tag untags (manifest still there by digest); DELETE by digest removes it", async () => {
    const image = makeImage();
    await pushImage(reg.url, "m/del", "v1", image);
    await pushManifest(reg.url, "m/del", "v2", image.manifest, OCI_MANIFEST);
    assert.equal((await call(reg.url, "DELETE", "/v2/m/del/manifests/v1")).status, 202);
    assert.equal((await call(reg.url, "GET", "/v2/m/del/manifests/v1")).status, 404);
    assert.equal((await call(reg.url, "GET", `/v2/m/del/manifests/${image.digest}`)).status, 200);
    assert.equal((await call(reg.url, "DELETE", `/v2/m/del/manifests/${image.digest}`)).status, 202);
    assert.equal((await call(reg.url, "GET", "/v2/m/del/manifests/v2")).status, 404);
    assert.equal((await call(reg.url, "GET", `/v2/m/del/manifests/${image.digest}`)).status, 404);
    assert.equal((await call(reg.url, "DELETE", `/v2/m/del/manifests/${image.digest}`)).code(), "MANIFEST_UNKNOWN");
  });

  it("an invalid tag in the reference is MANIFEST_INVALID; a malformed digest is DIGEST_INVALID", async () => {
    const image = makeImage();
    const badTag = await pushManifest(reg.url, "m/refs", ".bad", image.manifest, OCI_MANIFEST);
    assert.equal(badTag.code(), "MANIFEST_INVALID");
    const badDigest = await call(reg.url, "GET", "/v2/m/refs/manifests/sha256:1234");
    assert.equal(badDigest.code(), "DIGEST_INVALID");
  });

  it("descriptor helper keeps sizes honest", () => {
    const image = makeImage();
    assert.equal(descriptor(image.config).size, image.config.data.length);
  });
});

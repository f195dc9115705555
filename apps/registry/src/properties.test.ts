import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { call, pushImage } from "./test-support/client.js";
import { makeImage } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

const OCI_CODES = new Set([
  "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED",
  "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
]);

/** Bad input gets a 4xx with an OCI code, or a 2xx; never a 5xx. */
function assertClean(res: { status: number; code(): string | undefined; text: string }, what: string): void {
  assert.ok(res.status < 500, `${what} → ${res.status} ${res.text}`);
  // HEAD answers carry no body; 416 on a blob range carries one, a chunk's 416 too.
  if (res.status >= 400 && !what.startsWith("HEAD")) assert.ok(OCI_CODES.has(res.code() ?? ""), `${what} → ${res.text}`);
}

const segment = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("..", ".", "A", "a", "library", "%2e%2e", "_catalog"));
const pathish = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.map((p) => encodeURIComponent(p).replace(/%2F/gi, "/")).join("/"));

describe("property: bad input never yields a 500 and never corrupts the repository", () => {
  let reg: RunningRegistry;
  const image = makeImage();
  before(async () => {
    reg = await startRegistry();
    await pushImage(reg.url, "prop/repo", "stable", image);
  });
  after(() => reg.stop());

  it("manifest PUT bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.json(), fc.string(), fc.constant(JSON.stringify({ schemaVersion: 2, layers: [{ digest: "sha256:x" }], config: {} }))),
        fc.constantFrom("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json", "text/plain", "application/vnd.docker.distribution.manifest.v2+json"),
        async (body, contentType) => {
          const res = await call(reg.url, "PUT", "/v2/prop/repo/manifests/fuzz", { headers: { "Content-Type": contentType }, body });
          assertClean(res, `PUT ${body.slice(0, 80)}`);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("names, references and digests in paths", async () => {
    await fc.assert(
      fc.asyncProperty(pathish, fc.string({ maxLength: 80 }), fc.constantFrom("manifests", "blobs", "referrers", "tags/list", "blobs/uploads"), async (name, ref, kind) => {
        const path = kind === "tags/list" ? `/v2/${name}/tags/list` : `/v2/${name}/${kind}/${encodeURIComponent(ref)}`;
        for (const method of ["GET", "HEAD", "DELETE"]) assertClean(await call(reg.url, method, path), `${method} ${path}`);
      }),
      { numRuns: 60 },
    );
  });

  it("Content-Range headers and upload bodies", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 100 }), async (range, body) => {
        const start = await call(reg.url, "POST", "/v2/prop/uploads/blobs/uploads/");
        const location = start.headers.get("location") ?? "";
        const res = await call(reg.url, "PATCH", location, { headers: { "Content-Range": range.replace(/[\r\n]/g, "") }, body: Buffer.from(body) });
        assertClean(res, `PATCH Content-Range ${range}`);
        assertClean(await call(reg.url, "PUT", `${location}?digest=${encodeURIComponent(range)}`), "PUT digest");
      }),
      { numRuns: 40 },
    );
  });

  it("query parameters of listings and uploads", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), async (n, last) => {
        const q = `n=${encodeURIComponent(n)}&last=${encodeURIComponent(last)}`;
        assertClean(await call(reg.url, "GET", `/v2/prop/repo/tags/list?${q}`), `tags ${q}`);
        assertClean(await call(reg.url, "GET", `/v2/_catalog?${q}`), `catalog ${q}`);
        assertClean(await call(reg.url, "GET", `/v2/prop/repo/referrers/${image.digest}?artifactType=${encodeURIComponent(n)}`), "referrers");
        assertClean(await call(reg.url, "POST", `/v2/prop/mounts/blobs/uploads/?mount=${encodeURIComponent(n)}&from=${encodeURIComponent(last)}`), "mount");
      }),
      { numRuns: 40 },
    );
  });

  it("after all that, the pushed image is intact", async () => {
    const res = await call(reg.url, "GET", "/v2/prop/repo/manifests/stable");
    assert.equal(res.status, 200);
    assert.equal(res.text, image.manifest.toString("utf8"));
    const tags = (await call(reg.url, "GET", "/v2/prop/repo/tags/list")).json() as { tags: string[] };
    assert.ok(tags.tags.includes("stable"));
  });
});

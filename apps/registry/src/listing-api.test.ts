import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { call, pushImage, pushManifest } from "./test-support/client.js";
import { makeImage } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

describe("tags and catalog listing", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
    const image = makeImage();
    await pushImage(reg.url, "list/app", "b", image);
    for (const tag of ["a", "c", "d", "e", "B"]) {
      await pushManifest(reg.url, "list/app", tag, image.manifest, image.mediaType);
    }
    for (const repo of ["list/x", "list/y"]) await pushImage(reg.url, repo, "v1", makeImage());
  });
  after(() => reg.stop());

  it("lists tags sorted lexically", async () => {
    const res = await call(reg.url, "GET", "/v2/list/app/tags/list");
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { name: "list/app", tags: ["B", "a", "b", "c", "d", "e"] });
  });

  it("an empty repository name is NAME_INVALID, not an unknown endpoint (found by the e2e property test)", async () => {
    for (const path of ["/v2//tags/list", "/v2//manifests/latest", "/v2//blobs/uploads/"]) {
      const res = await call(reg.url, path.endsWith("uploads/") ? "POST" : "GET", path);
      assert.equal(res.status, 400, path);
      assert.equal((res.json() as { errors: { code: string }[] }).errors[0]?.code, "NAME_INVALID", path);
    }
  });

  it("paginates tags with n and last, with a Link header while more remain", async () => {
    const first = await call(reg.url, "GET", "/v2/list/app/tags/list?n=2");
    assert.deepEqual((first.json() as { tags: string[] }).tags, ["B", "a"]);
    assert.equal(first.headers.get("link"), '</v2/list/app/tags/list?n=2&last=a>; rel="next"');
    const second = await call(reg.url, "GET", "/v2/list/app/tags/list?n=2&last=a");
    assert.deepEqual((second.json() as { tags: string[] }).tags, ["b", "c"]);
    const last = await call(reg.url, "GET", "/v2/list/app/tags/list?n=2&last=c");
    assert.deepEqual((last.json() as { tags: string[] }).tags, ["d", "e"]);
    assert.equal(last.headers.get("link"), null);
    const after = await call(reg.url, "GET", "/v2/list/app/tags/list?last=d");
    assert.deepEqual((after.json() as { tags: string[] }).tags, ["e"]);
    const zero = await call(reg.url, "GET", "/v2/list/app/tags/list?n=0");
    assert.deepEqual((zero.json() as { tags: string[] }).tags, []);
  });

  it("a bad n is a 400 with an OCI code", async () => {
    const res = await call(reg.url, "GET", "/v2/list/app/tags/list?n=-1");
    assert.equal(res.status, 400);
    assert.equal(res.code(), "UNSUPPORTED");
  });

  it("NAME_UNKNOWN for the tags of an unknown repository", async () => {
    const res = await call(reg.url, "GET", "/v2/list/none/tags/list");
    assert.equal(res.status, 404);
    assert.equal(res.code(), "NAME_UNKNOWN");
  });

  it("lists and paginates the catalog", async () => {
    const all = await call(reg.url, "GET", "/v2/_catalog");
    assert.deepEqual(all.json(), { repositories: ["list/app", "list/x", "list/y"] });
    const page = await call(reg.url, "GET", "/v2/_catalog?n=1&last=list/app");
    assert.deepEqual(page.json(), { repositories: ["list/x"] });
    assert.equal(page.headers.get("link"), '</v2/_catalog?n=1&last=list%2Fx>; rel="next"');
  });
});

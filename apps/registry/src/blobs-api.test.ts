import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { call, pushBlob } from "./test-support/client.js";
import { sha256 } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

describe("blobs API", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  it("GET /v2/ answers 200 with the API version header", async () => {
    const res = await call(reg.url, "GET", "/v2/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
    assert.ok(res.headers.get("x-request-id"));
  });

  it("keeps a valid X-Request-Id from the client", async () => {
    const res = await call(reg.url, "GET", "/v2/", { headers: { "X-Request-Id": "abc-123" } });
    assert.equal(res.headers.get("x-request-id"), "abc-123");
  });

  it("monolithic POST stores a blob; GET and HEAD serve it", async () => {
    const data = randomBytes(5000);
    const digest = sha256(data);
    const put = await pushBlob(reg.url, "blobs/a", digest, data);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get("location"), `/v2/blobs/a/blobs/${digest}`);
    assert.equal(put.headers.get("docker-content-digest"), digest);
    const get = await fetch(`${reg.url}/v2/blobs/a/blobs/${digest}`);
    assert.equal(get.status, 200);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
    assert.equal(get.headers.get("docker-content-digest"), digest);
    const head = await call(reg.url, "HEAD", `/v2/blobs/a/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "5000");
  });

  it("serves byte ranges with 206 and refuses unsatisfiable ones with 416", async () => {
    const data = randomBytes(100);
    const digest = sha256(data);
    await pushBlob(reg.url, "blobs/range", digest, data);
    const part = await fetch(`${reg.url}/v2/blobs/range/blobs/${digest}`, { headers: { Range: "bytes=10-19" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 10-19/100");
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), data.subarray(10, 20));
    const suffix = await fetch(`${reg.url}/v2/blobs/range/blobs/${digest}`, { headers: { Range: "bytes=-5" } });
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), data.subarray(95));
    const bad = await call(reg.url, "GET", `/v2/blobs/range/blobs/${digest}`, { headers: { Range: "bytes=500-600" } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), "bytes */100");
  });

  it("BLOB_UNKNOWN for a missing blob (GET, HEAD, DELETE)", async () => {
    const digest = sha256("nothing here");
    const get = await call(reg.url, "GET", `/v2/blobs/a/blobs/${digest}`);
    assert.equal(get.status, 404);
    assert.equal(get.code(), "BLOB_UNKNOWN");
    assert.equal((await call(reg.url, "HEAD", `/v2/blobs/a/blobs/${digest}`)).status, 404);
    const del = await call(reg.url, "DELETE", `/v2/blobs/a/blobs/${digest}`);
    assert.equal(del.status, 404);
    assert.equal(del.code(), "BLOB_UNKNOWN");
    // In a repository that was never created (its blobs directory does not exist): 404, not 500.
    const nowhere = await call(reg.url, "DELETE", `/v2/never/created/blobs/${digest}`);
    assert.equal(nowhere.status, 404, nowhere.text);
    assert.equal(nowhere.code(), "BLOB_UNKNOWN");
  });

  it("DELETE removes a blob with 202", async () => {
    const data = randomBytes(10);
    const digest = sha256(data);
    await pushBlob(reg.url, "blobs/del", digest, data);
    assert.equal((await call(reg.url, "DELETE", `/v2/blobs/del/blobs/${digest}`)).status, 202);
    assert.equal((await call(reg.url, "GET", `/v2/blobs/del/blobs/${digest}`)).status, 404);
  });

  it("DIGEST_INVALID for malformed digests and for content that does not match", async () => {
    for (const bad of ["sha256:xyz", "md5:abcd", "sha256:" + "A".repeat(64), "nonsense"]) {
      const res = await call(reg.url, "GET", `/v2/blobs/a/blobs/${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.code(), "DIGEST_INVALID", bad);
    }
    const mismatch = await pushBlob(reg.url, "blobs/a", sha256("other"), Buffer.from("content"));
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.code(), "DIGEST_INVALID");
  });

  it("accepts sha512 digests", async () => {
    const { createHash } = await import("node:crypto");
    const data = randomBytes(300);
    const digest = `sha512:${createHash("sha512").update(data).digest("hex")}`;
    assert.equal((await pushBlob(reg.url, "blobs/sha512", digest, data)).status, 201);
    const get = await fetch(`${reg.url}/v2/blobs/sha512/blobs/${digest}`);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
  });

  it("NAME_INVALID for names outside the grammar: uppercase, '..', over-long", async () => {
    const digest = sha256("x");
    for (const name of ["Upper/case", "a/../b", "a/..", `${"a".repeat(256)}`, "-lead", "a//b"]) {
      const res = await call(reg.url, "GET", `/v2/${name}/blobs/${digest}`);
      assert.equal(res.status, 400, name);
      assert.equal(res.code(), "NAME_INVALID", name);
    }
  });

  it("UNSUPPORTED (405) for a method a route does not have", async () => {
    const res = await call(reg.url, "POST", `/v2/blobs/a/blobs/${sha256("x")}`);
    assert.equal(res.status, 405);
    assert.equal(res.code(), "UNSUPPORTED");
  });

  it("404 with an OCI error body for an unknown path", async () => {
    const res = await call(reg.url, "GET", "/v2/a/unknown/thing");
    assert.equal(res.status, 404);
    assert.ok(res.code());
  });
});

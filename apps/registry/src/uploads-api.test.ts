import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { call, pushBlob } from "./test-support/client.js";
import { sha256 } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

async function start(reg: RunningRegistry, name: string): Promise<string> {
  const res = await call(reg.url, "POST", `/v2/${name}/blobs/uploads/`);
  assert.equal(res.status, 202);
  assert.equal(res.headers.get("range"), "0-0");
  const location = res.headers.get("location");
  assert.ok(location?.startsWith(`/v2/${name}/blobs/uploads/`));
  return location ?? "";
}

describe("uploads API", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  it("chunked upload: PATCH with Content-Range, status 204 with Range, PUT ?digest= finishes", async () => {
    const data = randomBytes(3000);
    const digest = sha256(data);
    const location = await start(reg, "up/chunked");
    const first = await call(reg.url, "PATCH", location, {
      headers: { "Content-Range": "0-999", "Content-Type": "application/octet-stream" },
      body: data.subarray(0, 1000),
    });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get("range"), "0-999");
    const status = await call(reg.url, "GET", location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get("range"), "0-999");
    const second = await call(reg.url, "PATCH", location, { headers: { "Content-Range": "1000-1999" }, body: data.subarray(1000, 2000) });
    assert.equal(second.headers.get("range"), "0-1999");
    const done = await call(reg.url, "PUT", `${location}?digest=${digest}`, {
      headers: { "Content-Range": "2000-2999" },
      body: data.subarray(2000),
    });
    assert.equal(done.status, 201);
    assert.equal(done.headers.get("docker-content-digest"), digest);
    const get = await fetch(`${reg.url}/v2/up/chunked/blobs/${digest}`);
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), data);
    const gone = await call(reg.url, "GET", location);
    assert.equal(gone.status, 404);
    assert.equal(gone.code(), "BLOB_UPLOAD_UNKNOWN");
  });

  it("streamed PATCH without Content-Range then an empty PUT", async () => {
    const data = randomBytes(2048);
    const location = await start(reg, "up/stream");
    assert.equal((await call(reg.url, "PATCH", location, { body: data })).status, 202);
    assert.equal((await call(reg.url, "PUT", `${location}?digest=${sha256(data)}`)).status, 201);
  });

  it("an out-of-order chunk is 416 with the current Range, and the upload can resume", async () => {
    const data = randomBytes(200);
    const location = await start(reg, "up/order");
    await call(reg.url, "PATCH", location, { headers: { "Content-Range": "0-99" }, body: data.subarray(0, 100) });
    const skip = await call(reg.url, "PATCH", location, { headers: { "Content-Range": "150-199" }, body: data.subarray(150) });
    assert.equal(skip.status, 416);
    assert.equal(skip.headers.get("range"), "0-99");
    assert.equal(skip.code(), "BLOB_UPLOAD_INVALID");
    const malformed = await call(reg.url, "PATCH", location, { headers: { "Content-Range": "garbage" }, body: "x" });
    assert.equal(malformed.status, 416);
    const resume = await call(reg.url, "PATCH", location, { headers: { "Content-Range": "100-199" }, body: data.subarray(100) });
    assert.equal(resume.status, 202);
    assert.equal((await call(reg.url, "PUT", `${location}?digest=${sha256(data)}`)).status, 201);
  });

  it("SIZE_INVALID when a chunk's length differs from its Content-Range", async () => {
    const location = await start(reg, "up/size");
    const res = await call(reg.url, "PATCH", location, { headers: { "Content-Range": "0-99" }, body: randomBytes(50) });
    assert.equal(res.status, 400);
    assert.equal(res.code(), "SIZE_INVALID");
  });

  it("DIGEST_INVALID when the finished upload does not match, or no digest is given", async () => {
    const location = await start(reg, "up/mismatch");
    await call(reg.url, "PATCH", location, { body: "abc" });
    const none = await call(reg.url, "PUT", location);
    assert.equal(none.status, 400);
    assert.equal(none.code(), "DIGEST_INVALID");
    const wrong = await call(reg.url, "PUT", `${location}?digest=${sha256("xyz")}`);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.code(), "DIGEST_INVALID");
  });

  it("DELETE cancels an upload (204); unknown sessions are BLOB_UPLOAD_UNKNOWN", async () => {
    const location = await start(reg, "up/cancel");
    assert.equal((await call(reg.url, "DELETE", location)).status, 204);
    assert.equal((await call(reg.url, "DELETE", location)).code(), "BLOB_UPLOAD_UNKNOWN");
    for (const method of ["GET", "PATCH", "PUT"]) {
      const res = await call(reg.url, method, "/v2/up/cancel/blobs/uploads/not-a-session");
      assert.equal(res.status, 404, method);
      assert.equal(res.code(), "BLOB_UPLOAD_UNKNOWN", method);
    }
  });

  it("cross-repository mount answers 201; a bad source falls back to a 202 upload", async () => {
    const data = randomBytes(64);
    const digest = sha256(data);
    await pushBlob(reg.url, "up/source", digest, data);
    const mount = await call(reg.url, "POST", `/v2/up/target/blobs/uploads/?mount=${digest}&from=up/source`);
    assert.equal(mount.status, 201);
    assert.equal(mount.headers.get("location"), `/v2/up/target/blobs/${digest}`);
    assert.equal((await call(reg.url, "HEAD", `/v2/up/target/blobs/${digest}`)).status, 200);
    const fallback = await call(reg.url, "POST", `/v2/up/target2/blobs/uploads/?mount=${digest}&from=up/nowhere`);
    assert.equal(fallback.status, 202);
    const badDigest = await call(reg.url, "POST", `/v2/up/target2/blobs/uploads/?mount=sha256:zz&from=up/source`);
    assert.equal(badDigest.status, 202);
  });

  it("automatic mount when `from` is absent but the blob is known", async () => {
    const data = randomBytes(64);
    const digest = sha256(data);
    await pushBlob(reg.url, "up/auto-src", digest, data);
    const mount = await call(reg.url, "POST", `/v2/up/auto-dst/blobs/uploads/?mount=${digest}`);
    assert.equal(mount.status, 201);
    assert.equal((await call(reg.url, "HEAD", `/v2/up/auto-dst/blobs/${digest}`)).status, 200);
  });

  it("concurrent uploads of the same blob all succeed and leave one intact copy", async () => {
    const data = randomBytes(256 * 1024);
    const digest = sha256(data);
    const answers = await Promise.all(Array.from({ length: 8 }, () => pushBlob(reg.url, "up/same", digest, data)));
    assert.deepEqual(answers.map((a) => a.status), Array(8).fill(201));
    const get = await fetch(`${reg.url}/v2/up/same/blobs/${digest}`);
    assert.equal(sha256(Buffer.from(await get.arrayBuffer())), digest);
  });
});

/**
 * Issue 14's consistency holes, against the running registry: a blob a manifest still needs
 * cannot be deleted (the tag would dangle), and no repository name can collide with the on-disk
 * layout of another repository.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { call, pushImage } from "./test-support/client.js";
import { makeImage, makeIndex } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

describe("layout safety", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  it("DELETE of a blob a manifest still needs (config, layer, the manifest itself, an index's child) → 405 DENIED; the image stays pullable", async () => {
    const image = makeImage();
    await pushImage(reg.url, "safe/img", "v1", image);
    const layer = image.layers[0]!;
    for (const digest of [image.config.digest, layer.digest, image.digest]) {
      const res = await call(reg.url, "DELETE", `/v2/safe/img/blobs/${digest}`);
      assert.equal(res.status, 405, `${digest}: ${res.text}`);
      assert.equal(res.code(), "DENIED");
      assert.match(res.text, /referenced by a manifest/);
      assert.match(res.text, new RegExp(image.digest));
    }
    const pulled = await call(reg.url, "GET", "/v2/safe/img/manifests/v1");
    assert.equal(pulled.status, 200);
    for (const digest of [image.config.digest, layer.digest]) {
      assert.equal((await call(reg.url, "GET", `/v2/safe/img/blobs/${digest}`)).status, 200, digest);
    }
    // Once the manifest is gone, its blobs may go.
    assert.equal((await call(reg.url, "DELETE", `/v2/safe/img/manifests/${image.digest}`)).status, 202);
    assert.equal((await call(reg.url, "DELETE", `/v2/safe/img/blobs/${layer.digest}`)).status, 202);
  });

  it("an index's child manifest (pushed by digest) cannot be deleted as a blob", async () => {
    const amd = makeImage({ arch: "amd64" });
    const arm = makeImage({ arch: "arm64" });
    await pushImage(reg.url, "safe/multi", amd.digest, amd);
    await pushImage(reg.url, "safe/multi", arm.digest, arm);
    const index = makeIndex([amd, arm], ["amd64", "arm64"]);
    const put = await call(reg.url, "PUT", "/v2/safe/multi/manifests/all", { headers: { "Content-Type": index.mediaType }, body: index.body });
    assert.equal(put.status, 201, put.text);
    // The child is itself in index.json (pushed by digest): refused either way, naming a manifest.
    const res = await call(reg.url, "DELETE", `/v2/safe/multi/blobs/${amd.digest}`);
    assert.equal(res.status, 405, res.text);
  });

  const reservedNames = (hex: string) => [
    `x/blobs/sha256/${hex}`,
    "x/blobs",
    "s/index.json",
    "o/oci-layout",
    "a/b/index.json",
    "t/index.json.0123456789ab.tmp",
  ];

  it("names whose components collide with the layout → 400 NAME_INVALID on every route; nothing is created", async () => {
    const image = makeImage();
    await pushImage(reg.url, "x", "v1", image);
    const hex = image.config.digest.slice("sha256:".length);
    for (const name of reservedNames(hex)) {
      for (const [method, path] of [
        ["POST", `/v2/${name}/blobs/uploads/`],
        ["PUT", `/v2/${name}/manifests/v1`],
        ["GET", `/v2/${name}/tags/list`],
      ] as const) {
        const res = await call(reg.url, method, path, { headers: { "Content-Type": image.mediaType }, body: method === "PUT" ? image.manifest : "" });
        assert.equal(res.status, 400, `${method} ${path}: ${res.status} ${res.text}`);
        assert.equal(res.code(), "NAME_INVALID");
      }
    }
    // x's blob is still a file, and nothing was created for the refused names.
    assert.equal((await call(reg.url, "GET", `/v2/x/blobs/${image.config.digest}`)).status, 200);
    assert.deepEqual((await readdir(join(reg.root, "x", "blobs", "sha256"))).sort(), [image.config.digest, image.layers[0]!.digest, image.digest].map((d) => d.slice(7)).sort());
    assert.deepEqual((await readdir(reg.root)).filter((e) => !e.startsWith(".")).sort(), ["safe", "x"]);
  });

  it("a reserved name is refused by storage itself, whatever route reaches it", async () => {
    await assert.rejects(reg.storage.repositories.ensure("y/blobs"), (err: unknown) => (err as { code?: string }).code === "NAME_INVALID");
  });
});

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { call, pushBlob, pushManifest } from "./test-support/client.js";
import { makeImage } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

describe("concurrency", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  it("64 parallel tag pushes to one repository lose no tag and leave index.json whole", async () => {
    const images = Array.from({ length: 8 }, () => makeImage({ layerBytes: 64 }));
    for (const image of images) {
      for (const blob of [image.config, ...image.layers]) await pushBlob(reg.url, "conc/repo", blob.digest, blob.data);
    }
    const tags = Array.from({ length: 64 }, (_, i) => `t${String(i).padStart(2, "0")}`);
    const answers = await Promise.all(
      tags.map((tag, i) => {
        const image = images[i % images.length]!;
        return pushManifest(reg.url, "conc/repo", tag, image.manifest, image.mediaType);
      }),
    );
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([201]));
    const listed = (await call(reg.url, "GET", "/v2/conc/repo/tags/list")).json() as { tags: string[] };
    assert.deepEqual(listed.tags, tags);
    await reg.storage.flushViews(); // index.json is drawn from the tag log after a bounded delay
    const onDisk = JSON.parse(await readFile(join(reg.root, "conc/repo/index.json"), "utf8")) as {
      manifests: Array<{ annotations?: Record<string, string> }>;
    };
    const diskTags = onDisk.manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]).filter(Boolean);
    assert.deepEqual(diskTags.sort(), tags);
    assert.equal(reg.publisher.ofKind("image.updated").length, 64);
    assert.equal(reg.publisher.ofKind("repository.created").length, 1);
  });

  it("parallel first pushes to a new repository emit repository.created once", async () => {
    reg.publisher.clear();
    const image = makeImage();
    await Promise.all(Array.from({ length: 6 }, () => pushBlob(reg.url, "conc/fresh", image.config.digest, image.config.data)));
    assert.equal(reg.publisher.ofKind("repository.created").length, 1);
  });
});

import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { waitFor } from "@berth/testing";
import { call, pushImage, pushManifest } from "./test-support/client.js";
import { makeImage } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

describe("a repository whose lock another replica holds", () => {
  let reg: RunningRegistry;
  before(async () => {
    // A lease far longer than the wait: the holder looks alive for the whole test.
    reg = await startRegistry({ storageOptions: { lock: { leaseMs: 60_000, waitMs: 300 } } });
  });
  after(() => reg.stop());

  it("refuses the write with 503 UNAVAILABLE and writes nothing; once the lock is free the write goes through", async () => {
    const image = makeImage();
    assert.equal((await pushImage(reg.url, "locked/app", "v1", image)).status, 201);
    const lock = join(reg.root, "locked", "app", ".berth", "lock");
    await mkdir(join(reg.root, "locked", "app", ".berth"), { recursive: true });
    // Taken as another replica takes it: exclusively, once this registry has released its own.
    await waitFor("the lock", () =>
      writeFile(lock, JSON.stringify({ owner: "other-replica:1", id: "held" }), { flag: "wx" }).then(
        () => true,
        () => false,
      ),
    );

    const refused = await pushManifest(reg.url, "locked/app", "v2", image.manifest, image.mediaType);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((refused.json() as { errors: Array<{ code: string }> }).errors[0]?.code, "UNAVAILABLE");
    const deleted = await call(reg.url, "DELETE", "/v2/locked/app/manifests/v1");
    assert.equal(deleted.status, 503);
    const tags = (await call(reg.url, "GET", "/v2/locked/app/tags/list")).json() as { tags: string[] };
    assert.deepEqual(tags.tags, ["v1"], "reads go on; nothing was written");

    await rm(lock);
    assert.equal((await pushImage(reg.url, "locked/app", "v2", image)).status, 201);
  });
});

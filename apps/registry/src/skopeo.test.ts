import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";
import { makeImage, makeIndex, writeLayout } from "./test-support/oci-content.js";

const exec = promisify(execFile);

/** skopeo (Debian package) is a real client; the registry runs in this process, so run it async. */
async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await exec("skopeo", ["--insecure-policy", ...args], { timeout: 60_000 });
  return stdout;
}

async function topDigest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
  return index.manifests[0]!.digest;
}

describe("skopeo against the registry", () => {
  let reg: RunningRegistry;
  let work: string;

  before(async () => {
    reg = await startRegistry();
    work = await mkdtemp(join(tmpdir(), "berth-skopeo-"));
  });
  after(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  it("pushes and pulls back an image with the same digest, and emits the events", async () => {
    const image = makeImage({ layerBytes: 64 * 1024 });
    await writeLayout(join(work, "src"), "v1", [image]);
    await skopeo("copy", "--dest-tls-verify=false", `oci:${join(work, "src")}:v1`, `docker://${reg.host}/team/app:v1`);
    await skopeo("copy", "--src-tls-verify=false", `docker://${reg.host}/team/app:v1`, `oci:${join(work, "back")}:v1`);
    assert.equal(await topDigest(join(work, "back")), image.digest);

    const types = reg.publisher.events.map((e) => e.type);
    assert.deepEqual(types, ["zotregistry.repository.created", "zotregistry.image.updated"]);
    const updated = reg.publisher.events[1]!;
    assert.equal(updated.data.name, "team/app");
    assert.equal(updated.data.reference, "v1");
    assert.equal(updated.data.digest, image.digest);
    assert.equal(updated.data.manifest, image.manifest.toString("utf8"));
    assert.match(updated.data.request?.useragent ?? "", /skopeo|containers/i);
  });

  it("serves its storage root as OCI layouts skopeo reads directly", async () => {
    await reg.storage.flushViews(); // index.json is drawn from the tag log after a bounded delay
    await skopeo("copy", `oci:${join(reg.root, "team/app")}:v1`, `oci:${join(work, "direct")}:v1`);
    assert.equal(await topDigest(join(work, "direct")), await topDigest(join(work, "back")));
  });

  it("copies a multi-arch index with --all, preserving every digest", async () => {
    const amd = makeImage({ arch: "amd64" });
    const arm = makeImage({ arch: "arm64" });
    const index = makeIndex([amd, arm], ["amd64", "arm64"]);
    await writeLayout(join(work, "multi"), "m1", [amd, arm], index);
    await skopeo("copy", "--all", "--dest-tls-verify=false", `oci:${join(work, "multi")}:m1`, `docker://${reg.host}/team/multi:m1`);
    await skopeo("copy", "--all", "--src-tls-verify=false", `docker://${reg.host}/team/multi:m1`, `oci:${join(work, "multi-back")}:m1`);
    assert.equal(await topDigest(join(work, "multi-back")), index.digest);
    const raw = await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/team/multi@${arm.digest}`);
    assert.equal(raw, arm.manifest.toString("utf8"));
  });

  it("deletes with skopeo delete and emits image.deleted", async () => {
    reg.publisher.clear();
    await skopeo("delete", "--tls-verify=false", `docker://${reg.host}/team/app:v1`);
    const res = await fetch(`${reg.url}/v2/team/app/manifests/v1`);
    assert.equal(res.status, 404);
    const deleted = reg.publisher.ofKind("image.deleted");
    assert.equal(deleted.length, 1);
    assert.equal(deleted[0]!.data.name, "team/app");
    assert.equal(deleted[0]!.data.digest, deleted[0]!.data.reference, "skopeo deletes by digest");
  });
});

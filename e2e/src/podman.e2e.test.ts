/**
 * podman (Debian's package, vfs storage, no daemon) pushes to and pulls from the registry process:
 * a second real OCI client next to skopeo, with its own upload strategy (chunked PATCHes, its own
 * recompression when pushing from local storage).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { freePort, uniqueName } from "@berth/testing";
import { OCI_CONFIG, OCI_LAYER, contentBlob, manifestFor, sha256Digest, writeOciLayout } from "@berth/testing/oci-layout-fixture";
import { ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";

const run = promisify(execFile);

describe("podman push and pull", () => {
  const group = new ProcessGroup();
  let dir = "";
  let removeDir = async () => {};
  let layoutDir = "";
  let registry = "";
  let podman: (...args: string[]) => Promise<string>;
  let pushedDigest = "";

  before(async () => {
    await run("podman", ["--version"]).catch(() => {
      throw new Error("podman is not installed: apt-get install podman (scripts/test.sh does it)");
    });
    const temp = await makeTempDir("podman");
    dir = temp.path;
    removeDir = temp.remove;
    const port = await freePort();
    registry = `127.0.0.1:${port}`;
    const config = await writeJsonFile(dir, "config.json", {
      distSpecVersion: "1.1.1",
      storage: { rootDirectory: join(dir, "registry") },
      http: { address: "127.0.0.1", port },
      log: { level: "warn" },
    });
    await group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
    const storage = ["--root", join(dir, "podman-root"), "--runroot", join(dir, "podman-run"), "--storage-driver", "vfs"];
    podman = async (...args) => (await run("podman", [...storage, ...args], { timeout: 60_000 })).stdout.trim();
  });
  after(async () => {
    await group.stopAll();
    await removeDir();
    if (layoutDir) await rm(layoutDir, { recursive: true, force: true });
  });

  /** podman unpacks layers, so this image has a real gzip'd tar layer (made with tar(1)). */
  async function realImage(): Promise<string> {
    const files = join(dir, "files");
    await mkdir(files, { recursive: true });
    await writeFile(join(files, "hello.txt"), "hello from berth\n");
    await run("tar", ["-C", files, "-cf", join(dir, "layer.tar"), "hello.txt"]);
    await run("gzip", ["-n", "-f", join(dir, "layer.tar")]);
    const tar = await readFile(join(dir, "layer.tar")).catch(() => undefined);
    assert.equal(tar, undefined, "gzip replaced the tar");
    const gz = await readFile(join(dir, "layer.tar.gz"));
    const { gunzipSync } = await import("node:zlib");
    const layer = contentBlob(gz, OCI_LAYER);
    const config = contentBlob(
      Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha256Digest(gunzipSync(gz))] } })),
      OCI_CONFIG,
    );
    const manifest = manifestFor(config, [layer]);
    // podman names an image pulled from `oci:` after its path, which must then be lowercase.
    const layout = join(tmpdir(), uniqueName("berth-podman-layout"));
    layoutDir = layout;
    await writeOciLayout(layout, "1", { config, layers: [layer], manifest });
    return layout;
  }

  test("push: the registry stores the manifest under the digest podman reports", async () => {
    const layout = await realImage();
    const id = await podman("pull", "-q", `oci:${layout}:1`);
    await podman("tag", id, `${registry}/pod/hello:1`);
    const digestFile = join(dir, "digest");
    await podman("push", "--tls-verify=false", "--digestfile", digestFile, `${registry}/pod/hello:1`);
    pushedDigest = (await readFile(digestFile, "utf8")).trim();
    const head = await fetch(`http://${registry}/v2/pod/hello/manifests/1`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("docker-content-digest"), pushedDigest);
  });

  test("pull: a clean store gets the image back under the registry's digest", async () => {
    await podman("rmi", "-a", "-f");
    await podman("pull", "-q", "--tls-verify=false", `${registry}/pod/hello:1`);
    const digests = await podman("image", "inspect", "--format", "{{range .RepoDigests}}{{.}} {{end}}", `${registry}/pod/hello:1`);
    assert.ok(digests.includes(`${registry}/pod/hello@${pushedDigest}`), digests);
  });

  test("push of a second tag is listed next to the first", async () => {
    await podman("push", "--tls-verify=false", `${registry}/pod/hello:1`, `docker://${registry}/pod/hello:2`);
    const tags = (await (await fetch(`http://${registry}/v2/pod/hello/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ["1", "2"]);
  });
});

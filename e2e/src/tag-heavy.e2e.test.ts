/**
 * Issue 19 on the real process: tag pushes to one repository (BERTH_TAG_PUSHES, default 3,000 to
 * fit CI; the figure is 20,000), the registry SIGKILLed halfway through, restarted: every
 * acknowledged tag is in tags/list (walked page by page with `n`/`last`) and pullable, and skopeo
 * reading the storage root as an OCI layout (`oci:<root>/<repo>:<tag>`) finds them once the
 * restarted registry has redrawn index.json from the tag log.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort, waitFor } from "@berth/testing";
import { makeTestImage, manifestFor } from "@berth/testing/oci-layout-fixture";
import { ManagedProcess, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";

const PUSHES = Number(process.env.BERTH_TAG_PUSHES ?? 3000);
const PUSHERS = 16;
const REPO = "ci/app";

function skopeoInspectLayout(ref: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile("/usr/bin/skopeo", ["--insecure-policy", "inspect", "--raw", ref], { timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? 1 : 0, out: err ? stderr : stdout }),
    ),
  );
}

describe(`${PUSHES} tag pushes to one repository, registry SIGKILLed halfway`, () => {
  let dir: { path: string; remove(): Promise<void> };
  let registry: ManagedProcess;
  let client: RegistryHttpClient;
  let root = "";

  before(async () => {
    dir = await makeTempDir("tag-heavy");
    root = join(dir.path, "storage");
    const port = await freePort();
    const file = await writeJsonFile(dir.path, "config.json", { storage: { rootDirectory: root }, http: { address: "127.0.0.1", port }, log: { level: "warn" } });
    registry = new ManagedProcess({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", file], ready: { port } });
    await registry.start();
    client = new RegistryHttpClient(`http://127.0.0.1:${port}`);
  });
  after(async () => {
    await registry?.kill();
    await dir?.remove();
  });

  async function listAllTags(pageSize: number): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${REPO}/tags/list?n=${pageSize}`;
    while (path) {
      const res = await client.request("GET", path);
      assert.equal(res.status, 200, res.body);
      const page = (JSON.parse(res.body) as { tags: string[] }).tags;
      assert.ok(page.length <= pageSize);
      tags.push(...page);
      const link = res.headers.link as string | undefined;
      path = link ? /<([^>]+)>/.exec(link)?.[1] : undefined;
    }
    return tags;
  }

  test("every acknowledged tag survives the kill: tags/list, GET by tag, and skopeo over the root", { timeout: 600_000 }, async () => {
    const image = makeTestImage({ layerBytes: 128 });
    for (const blob of [image.config, ...image.layers]) assert.equal(await client.pushBlob(REPO, blob), 201);
    const acknowledged = new Map<string, string>();
    let next = 0;
    let killed: Promise<unknown> | undefined;
    await Promise.all(
      Array.from({ length: PUSHERS }, async () => {
        for (let i = next++; i < PUSHES && !killed; i = next++) {
          const tag = `build-${String(i).padStart(6, "0")}`;
          const manifest = manifestFor(image.config, image.layers, { "berth.test/build": tag });
          const res = await client.putManifest(REPO, tag, manifest).catch(() => undefined);
          if (res?.status === 201) acknowledged.set(tag, manifest.digest);
          if (acknowledged.size >= PUSHES / 2) killed ??= registry.kill();
        }
      }),
    );
    await killed;
    assert.ok(acknowledged.size >= PUSHES / 2);
    await registry.start();

    const listed = await listAllTags(1000);
    assert.deepEqual([...listed].sort(), listed, "byte-wise sorted across pages");
    const listedSet = new Set(listed);
    const missing = [...acknowledged.keys()].filter((tag) => !listedSet.has(tag));
    assert.deepEqual(missing, [], "no acknowledged tag lost");
    const sample = [...acknowledged.entries()].filter((_, i) => i % Math.max(1, Math.floor(acknowledged.size / 50)) === 0);
    for (const [tag, digest] of sample) {
      const res = await client.request("GET", `/v2/${REPO}/manifests/${tag}`, { headers: { Accept: "application/vnd.oci.image.manifest.v1+json" } });
      assert.equal(res.status, 200, tag);
      assert.equal(res.headers["docker-content-digest"], digest);
    }

    // The restarted registry redraws index.json from the log in the background (start-up catch-up).
    const indexJson = join(root, REPO, "index.json");
    await waitFor(
      "index.json to hold every acknowledged tag",
      async () => {
        const text = await readFile(indexJson, "utf8");
        return [...acknowledged.keys()].every((tag) => text.includes(`"${tag}"`));
      },
      { timeoutMs: 60_000 },
    );
    for (const [tag, digest] of sample.slice(0, 5)) {
      const seen = await skopeoInspectLayout(`oci:${join(root, REPO)}:${tag}`);
      assert.equal(seen.code, 0, seen.out);
      assert.equal(JSON.parse(seen.out).annotations["berth.test/build"], tag);
      assert.ok(digest.startsWith("sha256:"));
    }
  });
});

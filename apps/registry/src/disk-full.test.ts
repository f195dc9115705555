/**
 * Issue 16 (finding 6): a full disk must not leave `*.tmp` files in repository directories. The
 * registry runs over a 1 MiB tmpfs this test mounts (root only: skipped elsewhere, with the reason),
 * which a filler file then fills: every write fails with a real ENOSPC.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { call, pushBlob, pushImage, pushManifest } from "./test-support/client.js";
import { blobOf, makeImage } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

const run = promisify(execFile);

async function mountTinyTmpfs(): Promise<{ dir: string; unmount(): Promise<void> } | string> {
  if (process.getuid?.() !== 0) return "needs root to mount a tmpfs";
  const dir = await mkdtemp(join(tmpdir(), "berth-full-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return `mount -t tmpfs failed: ${(err as Error).message.split("\n")[0]}`;
  }
  return {
    dir,
    async unmount() {
      await run("umount", [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Writes until the filesystem refuses: every later write fails with ENOSPC. */
async function fill(path: string): Promise<void> {
  const file = await open(path, "w");
  try {
    for (;;) await file.write(randomBytes(64 * 1024));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    await file.close();
  }
}

async function tempFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.endsWith(".tmp"));
}

describe("disk full: failed writes leave no temp files", async () => {
  const mounted = await mountTinyTmpfs();
  const skip = typeof mounted === "string" ? mounted : false;
  let reg: RunningRegistry;
  before(async () => {
    if (typeof mounted === "string") return;
    // index.json's background redraw (1 s after a change) would have a temp file in flight while
    // the test lists them: held back, it runs at stop().
    reg = await startRegistry({ root: join(mounted.dir, "root"), storageOptions: { indexViewDelayMs: 3_600_000 } });
  });
  after(async () => {
    if (typeof mounted === "string") return;
    await reg.stop();
    await mounted.unmount();
  });

  it("manifest, tag and blob writes that hit ENOSPC answer an error and leave no *.tmp; after space is freed they succeed", { skip }, async () => {
    assert.ok(typeof mounted !== "string");
    const image = makeImage({ layerBytes: 2048 });
    await pushImage(reg.url, "full/app", "v1", image);
    const other = makeImage({ layerBytes: 2048 });
    for (const blob of [other.config, ...other.layers]) assert.equal((await pushBlob(reg.url, "full/app", blob.digest, blob.data)).status, 201);
    const filler = join(mounted.dir, "filler");
    await fill(filler);

    // A new manifest (its blob is written beside the others), a new tag (index.json rewritten),
    // a monolithic blob (streamed into .uploads).
    const big = blobOf(randomBytes(300_000), "application/octet-stream");
    const failures = [
      await pushManifest(reg.url, "full/app", "v2", other.manifest, other.mediaType),
      await pushManifest(reg.url, "full/app", "v3", image.manifest, image.mediaType),
      await pushBlob(reg.url, "full/app", big.digest, big.data),
    ];
    for (const res of failures) assert.ok(res.status >= 400, `${res.status} ${res.text}`);
    assert.deepEqual(await tempFiles(join(mounted.dir, "root")), []);

    await rm(filler);
    await pushImage(reg.url, "full/app", "v2", other);
    assert.equal((await call(reg.url, "GET", "/v2/full/app/manifests/v1")).status, 200);
    assert.deepEqual(await tempFiles(join(mounted.dir, "root")), []);
  });
});

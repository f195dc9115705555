import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openStorage } from "@berth/storage";
import { recordIo } from "../test-support/record-io.js";
import { run } from "./gc.js";

describe("berth gc", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-cli-gc-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const config = async (name: string, storage: Record<string, unknown>) => {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify({ storage: { rootDirectory: join(dir, "root"), ...storage } }));
    return file;
  };

  it("refuses a bad command line or config with exit 2, naming the key", async () => {
    const flag = recordIo();
    assert.equal(await run(["--force"], flag), 2);
    assert.match(flag.stderr[0]!, /^berth gc: Unknown option '--force'/);
    const none = recordIo();
    assert.equal(await run([], none), 2);
    assert.match(none.stderr[0]!, /no config file/);
    const bad = recordIo();
    assert.equal(await run(["--config", await config("bad.json", { gcDelay: "soon" })], bad), 2);
    assert.match(bad.stderr.join("\n"), /storage\.gcDelay: "soon" is not a duration/);
  });

  it("on a host without the registry's root: fails naming it, and creates nothing", async () => {
    const missing = join(dir, "not-here");
    const file = join(dir, "missing.json");
    await writeFile(file, JSON.stringify({ storage: { rootDirectory: missing } }));
    const io = recordIo();
    assert.equal(await run(["--config", file], io), 1);
    assert.match(io.stderr.join("\n"), /storage root .*not-here is not usable: ENOENT/);
    await assert.rejects(stat(missing), { code: "ENOENT" });
  });

  it("shows progress on a long run and a summary", async () => {
    const root = join(dir, "root");
    const storage = await openStorage(root);
    for (const repo of ["a/one", "a/two", "a/three"]) await storage.repositories.ensure(repo);
    const io = recordIo();
    let clock = 0;
    // Every reading of the clock is 2.5 s later: a progress line after each repository but the last.
    assert.equal(await run(["--config", await config("ok.json", {})], io, () => (clock += 2500)), 0);
    assert.deepEqual(io.stderr, ["berth gc: 1/3 repositories…", "berth gc: 2/3 repositories…"]);
    assert.deepEqual(io.stdout, ["removed 0 blobs, 0 manifests, 0 upload sessions in 3 repositories; freed 0 bytes"]);
  });
});

import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DurableFs, type FsChange } from "./durable-fs.js";

// Both ways of running file operations: all through the threadpool (network filesystems), and
// with opens and closes of directories and temp files in place (local filesystems).
for (const localFilesystem of [false, true]) describe(`DurableFs${localFilesystem ? " (local filesystem)" : ""}`, () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-durable-fs-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const recording = () => {
    const log: FsChange[] = [];
    return { log, fs: new DurableFs({ observe: (c) => log.push(c), localFilesystem }) };
  };
  const syncs = (log: FsChange[], dir: string) => log.filter((c) => c.op === "sync-dir" && c.path === dir).length;

  it("directory fsyncs requested while one runs share the next one (group commit)", async () => {
    const { log, fs } = recording();
    const dir = join(root, "group");
    await mkdir(dir);
    await Promise.all(Array.from({ length: 20 }, () => fs.syncDirectory(dir)));
    const count = syncs(log, dir);
    assert.ok(count >= 1 && count <= 2, `20 requests, ${count} fsyncs`);
  });

  it("a new directory's every new level is followed by an fsync of its parent", async () => {
    const { log, fs } = recording();
    await fs.ensureDirectory(join(root, "a", "b", "c"));
    const ops = log.flatMap((c) => (c.op === "mkdir" || c.op === "sync-dir" ? [`${c.op} ${c.path.slice(root.length)}`] : []));
    assert.deepEqual(ops, ["mkdir /a", "sync-dir ", "mkdir /a/b", "sync-dir /a", "mkdir /a/b/c", "sync-dir /a/b"]);
  });

  it("awaitDurable waits for an fsync that started after a change another caller is still committing", async () => {
    const dir = join(root, "await");
    await mkdir(dir);
    const log: Array<FsChange | { op: "durable" }> = [];
    let waited: Promise<void> | undefined;
    const fs = new DurableFs({
      localFilesystem,
      observe: (c) => {
        log.push(c);
        // The instant the rename is visible, a second request finds the file and waits.
        if (c.op === "rename" && c.to.endsWith("target")) waited = fs.awaitDurable(dir).then(() => void log.push({ op: "durable" }));
      },
    });
    await fs.writeFile(join(dir, "target"), "x");
    await waited;
    const renamed = log.findIndex((c) => c.op === "rename");
    const started = log.findIndex((c, i) => i > renamed && c.op === "sync-dir-start" && c.path === dir);
    const durable = log.findIndex((c) => c.op === "durable");
    const done = log.findIndex((c, i) => i > started && c.op === "sync-dir" && c.path === dir);
    assert.ok(renamed >= 0 && started > renamed && done > started && durable > done, JSON.stringify(log));
    // Nothing pending any more: no fsync at all.
    const before = log.length;
    await fs.awaitDurable(dir);
    assert.equal(log.length, before);
  });

  it("removing a file that is not there, in a directory that is not there either, is false, not an error", async () => {
    const { log, fs } = recording();
    assert.equal(await fs.remove(join(root, "nowhere", "sha256", "abc")), false);
    assert.equal(await fs.linkOrCopy(join(root, "nowhere", "from"), join(root, "elsewhere", "to")), false);
    assert.deepEqual(log.filter((c) => c.op === "sync-dir" && c.path.includes("nowhere")), []);
  });

  it("a write that fails after its temp file exists leaves no temp file", async () => {
    const dir = join(root, "fail");
    await mkdir(join(dir, "target"), { recursive: true });
    await writeFile(join(dir, "target", "keep"), "");
    const { fs } = recording();
    await assert.rejects(fs.writeFile(join(dir, "target"), "data"), (err: NodeJS.ErrnoException) => ["EISDIR", "ENOTEMPTY", "EEXIST"].includes(err.code ?? ""));
    assert.deepEqual(await readdir(dir), ["target"]);
  });

  it("writes the whole content, into a directory it creates when missing", async () => {
    const { fs } = recording();
    const data = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
    await fs.writeFile(join(root, `new-${localFilesystem}`, "deep", "file"), data);
    assert.ok((await readFile(join(root, `new-${localFilesystem}`, "deep", "file"))).equals(data));
  });
});

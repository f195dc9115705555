import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DurableFs, type FsChange } from "./durable-fs.js";
import { SessionPool } from "./session-pool.js";

describe("SessionPool", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-session-pool-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("creates sessions four at a time with one directory fsync, each durable before it is handed out", async () => {
    const log: FsChange[] = [];
    const pool = new SessionPool(root, new DurableFs({ observe: (c) => log.push(c) }));
    const uploads = join(root, "r", ".uploads");
    const handedOut: Array<{ id: string; at: number }> = [];
    for (let i = 0; i < 8; i++) handedOut.push({ id: await pool.create("r"), at: log.length });
    assert.equal(new Set(handedOut.map((h) => h.id)).size, 8, "distinct ids");
    assert.deepEqual((await readdir(uploads)).sort(), handedOut.map((h) => h.id).sort());
    assert.equal(log.filter((c) => c.op === "sync-dir" && c.path === uploads).length, 2, "8 sessions, 2 fsyncs of .uploads");
    for (const { id, at } of handedOut) {
      const created = log.findIndex((c) => c.op === "create" && c.path === join(uploads, id));
      const synced = log.findIndex((c, i) => i > created && c.op === "sync-dir" && c.path === uploads);
      assert.ok(created >= 0 && synced > created && synced < at, `${id} was durable before it was handed out`);
    }
  });

  it("another process never hands out this one's sessions", async () => {
    const a = new SessionPool(root, new DurableFs());
    const b = new SessionPool(root, new DurableFs());
    const ids = await Promise.all([a.create("s"), b.create("s"), a.create("s"), b.create("s")]);
    assert.equal(new Set(ids).size, 4);
  });
});

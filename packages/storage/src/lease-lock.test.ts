import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LeaseLocks, LockUnavailableError } from "./lease-lock.js";

describe("lease locks shared through the filesystem", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-lock-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("two holders (as two processes: nothing shared but the file) never overlap", async () => {
    const path = join(dir, "a", "lock");
    const replicas = [new LeaseLocks({ leaseMs: 5000, waitMs: 20_000 }), new LeaseLocks({ leaseMs: 5000, waitMs: 20_000 })];
    let inside = 0;
    let overlaps = 0;
    let turns = 0;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        replicas[i % 2]!.run(path, async () => {
          inside++;
          if (inside > 1) overlaps++;
          await new Promise((resolve) => setImmediate(resolve));
          turns++;
          inside--;
        }),
      ),
    );
    assert.equal(turns, 40);
    assert.equal(overlaps, 0);
  });

  it("a lock left by a dead holder is broken once it stays unchanged for a lease", async () => {
    const path = join(dir, "dead", "lock");
    await mkdir(join(dir, "dead"));
    await writeFile(path, JSON.stringify({ owner: "gone:1", id: "x" }));
    const locks = new LeaseLocks({ leaseMs: 200, waitMs: 5000 });
    const started = performance.now();
    assert.equal(await locks.run(path, async () => "ran"), "ran");
    assert.ok(performance.now() - started >= 200, "waited a whole lease before breaking it");
    await assert.rejects(readFile(path), { code: "ENOENT" }, "released");
  });

  it("a lock whose holder was a process of this machine that is gone is broken at once", async () => {
    const child = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => child.once("exit", resolve));
    const path = join(dir, "killed", "lock");
    await mkdir(join(dir, "killed"));
    await writeFile(path, JSON.stringify({ owner: `${hostname()}:${child.pid}`, id: "x" }));
    const locks = new LeaseLocks({ leaseMs: 60_000, waitMs: 5000 });
    assert.equal(await locks.run(path, async () => "ran"), "ran");
  });

  it("a live holder keeps its lock past the lease by renewing it; a waiter gives up with LockUnavailableError", async () => {
    const path = join(dir, "live", "lock");
    // A waiter gives up after 2.5 leases: long enough to break the lock if renewals stopped.
    const holder = new LeaseLocks({ leaseMs: 1000, waitMs: 5000 });
    const waiter = new LeaseLocks({ leaseMs: 1000, waitMs: 2500 });
    let release!: () => void;
    const held = holder.run(path, () => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await waiter.run(path, async () => "ran").catch((err: unknown) => err);
    assert.ok(refused instanceof LockUnavailableError, String(refused));
    assert.equal(refused.reason, "timeout");
    release();
    await held;
    assert.equal(await waiter.run(path, async () => "ran"), "ran");
  });

  it("a holder whose lock was broken neither releases its successor's lock nor passes check()", async () => {
    const path = join(dir, "stolen", "lock");
    const slow = new LeaseLocks({ leaseMs: 100, waitMs: 5000 });
    await slow.run(path, async (held) => {
      await held.check();
      // As if this holder stalled past its lease and another replica broke and re-took the lock.
      await new Promise((resolve) => setTimeout(resolve, 120));
      await writeFile(path, "someone else");
      await utimes(path, new Date(), new Date());
      await assert.rejects(held.check(), LockUnavailableError);
    });
    assert.equal(await readFile(path, "utf8"), "someone else");
  });

  it("a lock directory that cannot be created is LockUnavailableError (io), not a hang", async () => {
    await writeFile(join(dir, "file"), "");
    const err = await new LeaseLocks({ leaseMs: 100, waitMs: 100 }).run(join(dir, "file", "x", "lock"), async () => undefined).catch((e: unknown) => e);
    assert.ok(err instanceof LockUnavailableError);
    assert.equal(err.reason, "io");
  });
});

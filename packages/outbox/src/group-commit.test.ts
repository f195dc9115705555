import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createGroupCommit } from "./group-commit.js";

interface Write {
  items: readonly string[];
  finish(): void;
  fail(err: Error): void;
}

/** A write function whose calls the test finishes by hand. */
function manualWrites(): { writes: Write[]; write: (items: readonly string[]) => Promise<void> } {
  const writes: Write[] = [];
  return {
    writes,
    write: (items) =>
      new Promise<void>((resolve, reject) => {
        writes.push({ items: [...items], finish: resolve, fail: reject });
      }),
  };
}

async function settled(p: Promise<unknown>): Promise<"resolved" | "rejected" | "pending"> {
  const marker = Symbol("pending");
  const r = await Promise.race([p.then(() => "resolved" as const, () => "rejected" as const), new Promise((res) => setImmediate(() => res(marker)))]);
  return r === marker ? "pending" : (r as "resolved" | "rejected");
}

const batches = (writes: Write[]) => writes.map((w) => w.items);

describe("group commit", () => {
  it("writes a publish at once when nothing else is being written", () => {
    const { writes, write } = manualWrites();
    void createGroupCommit(write).submit(["a"]);
    assert.deepEqual(batches(writes), [["a"]]);
  });

  it("gathers publishes that arrive during a write into one write when it ends, in arrival order", async () => {
    const { writes, write } = manualWrites();
    const commit = createGroupCommit(write);
    const first = commit.submit(["a"]);
    const second = commit.submit(["b", "c"]);
    const third = commit.submit(["d"]);
    assert.deepEqual(batches(writes), [["a"]], "nothing more is written while the first is in flight");
    writes[0]?.finish();
    assert.equal(await settled(first), "resolved");
    assert.deepEqual(batches(writes), [["a"], ["b", "c", "d"]]);
    // Each caller resolves only once its own write has finished.
    assert.equal(await settled(second), "pending");
    writes[1]?.finish();
    assert.equal(await settled(second), "resolved");
    assert.equal(await settled(third), "resolved");
  });

  it("rejects every publish of a failed write, and only those; the next write goes ahead", async () => {
    const { writes, write } = manualWrites();
    const commit = createGroupCommit(write);
    const first = commit.submit(["a"]);
    const second = commit.submit(["b"]);
    const third = commit.submit(["c"]);
    writes[0]?.fail(new Error("redis away"));
    assert.equal(await settled(first), "rejected");
    // The gathered group is written after a failed write too.
    assert.deepEqual(writes.at(-1)?.items, ["b", "c"]);
    writes[1]?.finish();
    assert.equal(await settled(second), "resolved");
    assert.equal(await settled(third), "resolved");
    const next = commit.submit(["d"]);
    assert.deepEqual(writes.at(-1)?.items, ["d"]);
    writes.at(-1)?.fail(new Error("again"));
    assert.equal(await settled(next), "rejected");
  });

  it("with two in flight: two publishes are written at once, the next ones gathered until one of them ends", async () => {
    const { writes, write } = manualWrites();
    const commit = createGroupCommit(write, 2);
    const first = commit.submit(["a"]);
    const second = commit.submit(["b"]);
    const third = commit.submit(["c"]);
    const fourth = commit.submit(["d"]);
    assert.deepEqual(batches(writes), [["a"], ["b"]]);
    // The second write ends first: the gathered group takes its place; the first is still in flight.
    writes[1]?.finish();
    assert.equal(await settled(second), "resolved");
    assert.deepEqual(batches(writes), [["a"], ["b"], ["c", "d"]]);
    const fifth = commit.submit(["e"]);
    assert.deepEqual(batches(writes).length, 3, "both slots taken: the fifth is gathered");
    writes[0]?.fail(new Error("redis away"));
    assert.equal(await settled(first), "rejected");
    assert.deepEqual(batches(writes).at(-1), ["e"]);
    writes[2]?.finish();
    writes[3]?.finish();
    assert.deepEqual(await Promise.all([settled(third), settled(fourth), settled(fifth)]), ["resolved", "resolved", "resolved"]);
    // Idle again: a publish is written at once.
    void commit.submit(["f"]);
    assert.deepEqual(batches(writes).at(-1), ["f"]);
  });
});

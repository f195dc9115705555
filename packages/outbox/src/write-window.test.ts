import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor } from "@berth/testing";
import { createWriteWindow } from "./write-window.js";

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

describe("write window", () => {
  it("writes a publish at once when nothing else is being written", () => {
    const { writes, write } = manualWrites();
    const window = createWriteWindow(50, write);
    void window.submit(["a"]);
    assert.deepEqual(
      writes.map((w) => w.items),
      [["a"]],
    );
  });

  it("gathers publishes that arrive during a write into one later write, in arrival order", async () => {
    const { writes, write } = manualWrites();
    const window = createWriteWindow(1, write);
    const first = window.submit(["a"]);
    const second = window.submit(["b", "c"]);
    const third = window.submit(["d"]);
    assert.equal(writes.length, 1);
    await waitFor("the gathered write", () => writes.length >= 2);
    assert.deepEqual(
      writes.map((w) => w.items),
      [["a"], ["b", "c", "d"]],
    );
    // Each caller resolves only once its own write has finished.
    writes[0]?.finish();
    assert.equal(await settled(first), "resolved");
    assert.equal(await settled(second), "pending");
    writes[1]?.finish();
    assert.equal(await settled(second), "resolved");
    assert.equal(await settled(third), "resolved");
  });

  it("rejects every publish of a failed write, and only those", async () => {
    const { writes, write } = manualWrites();
    const window = createWriteWindow(1, write);
    const first = window.submit(["a"]);
    const second = window.submit(["b"]);
    const third = window.submit(["c"]);
    await waitFor("the gathered write", () => writes.length >= 2);
    writes[0]?.finish();
    writes[1]?.fail(new Error("redis away"));
    assert.equal(await settled(first), "resolved");
    assert.equal(await settled(second), "rejected");
    assert.equal(await settled(third), "rejected");
    // The window is usable again after a failure.
    const next = window.submit(["d"]);
    assert.deepEqual(writes.at(-1)?.items, ["d"]);
    writes.at(-1)?.finish();
    assert.equal(await settled(next), "resolved");
  });

  it("never gathers with a zero window", () => {
    const { writes, write } = manualWrites();
    const window = createWriteWindow(0, write);
    void window.submit(["a"]);
    void window.submit(["b"]);
    assert.deepEqual(
      writes.map((w) => w.items),
      [["a"], ["b"]],
    );
  });
});

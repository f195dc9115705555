import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryBudget } from "./memory-budget.js";

describe("MemoryBudget", () => {
  it("grants within the budget at once, queues the rest first come first served", async () => {
    const budget = new MemoryBudget(10);
    const a = await budget.reserve(6, new AbortController().signal);
    const order: string[] = [];
    const inLine = (name: string, bytes: number) =>
      budget.reserve(bytes, new AbortController().signal).then((release) => {
        order.push(name);
        return release;
      });
    const b = inLine("b", 6);
    const c = inLine("c", 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, [], "c waits behind b although 2 bytes are free");
    assert.equal(budget.inUse(), 6);
    a();
    a(); // a second release is a no-op
    (await b)();
    (await c)();
    assert.deepEqual(order, ["b", "c"]);
    assert.equal(budget.inUse(), 0);
  });

  it("lets a reservation larger than the budget through alone", async () => {
    const budget = new MemoryBudget(10);
    const release = await budget.reserve(50, new AbortController().signal);
    assert.equal(budget.inUse(), 10);
    release();
  });

  it("an aborted waiter leaves the line and rejects with the reason", async () => {
    const budget = new MemoryBudget(10);
    const first = await budget.reserve(10, new AbortController().signal);
    const gone = new AbortController();
    const waiting = budget.reserve(5, gone.signal);
    const next = budget.reserve(5, new AbortController().signal);
    gone.abort(new Error("client left"));
    await assert.rejects(waiting, /client left/);
    first();
    (await next)();
    assert.equal(budget.inUse(), 0);
  });
});

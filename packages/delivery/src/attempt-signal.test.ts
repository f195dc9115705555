import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AttemptSignal, SignalPool } from "./attempt-signal.js";

const never = () => new Promise<never>(() => {});

describe("AttemptSignal", () => {
  it("times out: the signal aborts, run() rejects although the work never settles, cause is timeout", async () => {
    const scope = new AttemptSignal({ timeoutMs: 20 });
    await assert.rejects(scope.run(never()), (err: unknown) => err instanceof DOMException && err.name === "TimeoutError");
    assert.equal(scope.signal.aborted, true);
    assert.equal(scope.cause, "timeout");
    scope.dispose();
  });

  it("settles with the work and stays unaborted when the work is done in time", async () => {
    const scope = new AttemptSignal({ timeoutMs: 60_000 });
    assert.equal(await scope.run(Promise.resolve("done")), "done");
    scope.dispose();
    assert.equal(scope.signal.aborted, false);
    assert.equal(scope.cause, undefined);
  });

  it("the first cause wins; the signal carries its reason", async () => {
    const scope = new AttemptSignal({ timeoutMs: 60_000 });
    const running = scope.run(never());
    const shutdown = new Error("worker shutting down");
    scope.abort("shutdown", shutdown);
    scope.abort("timeout", new Error("later"));
    await assert.rejects(running, (err: unknown) => err === shutdown);
    assert.equal(scope.signal.reason, shutdown);
    assert.equal(scope.cause, "shutdown");
    scope.dispose();
  });

  it("reuses the signal of an attempt that ended unaborted with no listener left", async () => {
    const pool = new SignalPool();
    const first = new AttemptSignal({ timeoutMs: 60_000, pool });
    await first.run(Promise.resolve());
    first.dispose();
    first.dispose();
    assert.equal(pool.size, 1);
    const second = new AttemptSignal({ timeoutMs: 60_000, pool });
    assert.equal(second.signal, first.signal);
    // A disposed attempt can no longer abort the signal its successor now owns.
    first.abort("shutdown", new Error("too late"));
    assert.equal(second.signal.aborted, false);
    second.dispose();
  });

  it("never reuses an aborted signal, nor one a sink left a listener on", async () => {
    const pool = new SignalPool();
    const aborted = new AttemptSignal({ timeoutMs: 60_000, pool });
    aborted.abort("shutdown", new Error("stop"));
    aborted.dispose();
    const leaky = new AttemptSignal({ timeoutMs: 60_000, pool });
    leaky.signal.addEventListener("abort", () => {});
    leaky.dispose();
    assert.equal(pool.size, 0);
    const fresh = new AttemptSignal({ timeoutMs: 60_000, pool });
    assert.notEqual(fresh.signal, aborted.signal);
    assert.notEqual(fresh.signal, leaky.signal);
    assert.equal(fresh.signal.aborted, false);
    fresh.dispose();
  });

  it("an attempt aborted before it runs rejects at once and leaves the work's rejection handled", async () => {
    const scope = new AttemptSignal({ timeoutMs: 60_000 });
    scope.abort("shutdown", new Error("shutting down"));
    await assert.rejects(scope.run(Promise.reject(new Error("sink failed too"))), /shutting down/);
    assert.equal(scope.cause, "shutdown");
    scope.dispose();
  });
});

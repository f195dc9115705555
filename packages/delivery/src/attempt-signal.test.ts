import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AttemptSignal } from "./attempt-signal.js";

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

  it("aborts BullMQ's signal through its cancel function; the first cause wins", async () => {
    const controller = new AbortController();
    const reasons: unknown[] = [];
    const scope = new AttemptSignal({
      timeoutMs: 60_000,
      lock: {
        signal: controller.signal,
        cancel: (reason) => {
          reasons.push(reason);
          controller.abort(reason);
        },
      },
    });
    assert.equal(scope.signal, controller.signal);
    const running = scope.run(never());
    const shutdown = new Error("worker shutting down");
    scope.abort("shutdown", shutdown);
    scope.abort("timeout", new Error("later"));
    await assert.rejects(running, (err: unknown) => err === shutdown);
    assert.deepEqual(reasons, [shutdown]);
    assert.equal(scope.cause, "shutdown");
    scope.dispose();
  });

  it("an abort of BullMQ's signal it did not make reads as lock_lost", () => {
    const controller = new AbortController();
    const scope = new AttemptSignal({ timeoutMs: 60_000, lock: { signal: controller.signal, cancel: () => {} } });
    controller.abort(new Error("cancelled elsewhere"));
    assert.equal(scope.cause, "lock_lost");
    scope.dispose();
  });

  it("an attempt aborted before it runs rejects at once and leaves the work's rejection handled", async () => {
    const scope = new AttemptSignal({ timeoutMs: 60_000 });
    scope.abort("shutdown", new Error("shutting down"));
    await assert.rejects(scope.run(Promise.reject(new Error("sink failed too"))), /shutting down/);
    assert.equal(scope.cause, "shutdown");
    scope.dispose();
  });
});

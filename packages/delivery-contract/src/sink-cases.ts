/** The sink-level contract: one `deliver()` at a time against a real destination. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { uniqueName } from "@berth/testing";
import { PermanentDeliveryError, TransientDeliveryError } from "@berth/delivery";
import type { Sink } from "@berth/delivery";
import { sampleEvent } from "./fixtures.js";
import type { SinkContractOptions, SinkHarness } from "./harness.js";

export function sinkCases(options: SinkContractOptions): void {
  describe(`${options.name} sink contract`, () => {
    let harness: SinkHarness;
    let sink: Sink;

    before(async () => {
      harness = await options.makeHarness();
      sink = harness.createSink(harness.sinkConfig({ name: uniqueName("contract").toLowerCase(), timeoutMs: 2_000 }));
    });
    after(async () => {
      await sink?.close();
      await harness?.close();
    });

    it("delivers and keeps the event id", async () => {
      harness.setMode("healthy");
      const event = sampleEvent(1);
      const receipt = await sink.deliver(event, { signal: new AbortController().signal, attempt: 1 });
      assert.equal(typeof receipt.detail, "string");
      assert.ok(receipt.detail.length > 0, "a receipt says what happened");
      assert.ok((await harness.received()).includes(event.id), "the destination got the event with its id");
    });

    it("a transient refusal rejects with TransientDeliveryError", async (t) => {
      if (!harness.modes.includes("transient")) return t.skip("destination cannot refuse transiently");
      harness.setMode("transient");
      const event = sampleEvent(2);
      await assert.rejects(sink.deliver(event, { signal: new AbortController().signal, attempt: 1 }), TransientDeliveryError);
      assert.ok(!(await harness.received()).includes(event.id));
    });

    it("a permanent refusal rejects with PermanentDeliveryError", async (t) => {
      if (!harness.modes.includes("permanent")) return t.skip("destination cannot refuse permanently");
      harness.setMode("permanent");
      const event = sampleEvent(3);
      await assert.rejects(sink.deliver(event, { signal: new AbortController().signal, attempt: 1 }), PermanentDeliveryError);
      assert.ok(!(await harness.received()).includes(event.id));
    });

    it("honours abort: a hanging destination and an aborted signal reject as transient", async (t) => {
      if (!harness.modes.includes("hang")) return t.skip("destination cannot hang");
      harness.setMode("hang");
      const controller = new AbortController();
      const pending = sink.deliver(sampleEvent(4), { signal: controller.signal, attempt: 1 });
      setTimeout(() => controller.abort(new Error("attempt timed out")), 100);
      await assert.rejects(pending, TransientDeliveryError);
      // An already-aborted signal rejects without waiting for the destination at all.
      await assert.rejects(
        sink.deliver(sampleEvent(5), { signal: AbortSignal.abort(new Error("shutdown")), attempt: 1 }),
        TransientDeliveryError,
      );
      harness.setMode("healthy");
    });

    it("close is idempotent", async () => {
      const other = harness.createSink(harness.sinkConfig({ name: uniqueName("contract").toLowerCase() }));
      await other.close();
      await other.close();
    });
  });
}

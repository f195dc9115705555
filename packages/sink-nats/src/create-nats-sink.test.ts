import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { PermanentDeliveryError, TransientDeliveryError } from "@berth/delivery";
import { SHARED_NATS_URL, startNatsServer, uniqueName } from "@berth/testing";
import { createNatsSink, NatsSinkConfigError } from "./create-nats-sink.js";
import { ALL_KINDS, sampleEvent } from "./test-support/events.js";
import { natsSinkConfig } from "./test-support/sink-config.js";
import { subscribe } from "./test-support/subscriber.js";

const attempt = (ms = 5_000) => ({ signal: AbortSignal.timeout(ms), attempt: 1 });

describe("nats sink, core mode", () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  test("a subscriber gets the structured JSON zot's consumers read, for every event type", async () => {
    const subject = uniqueName("berth.events");
    const sub = await subscribe(SHARED_NATS_URL, subject);
    closers.push(sub.close);
    const sink = createNatsSink(natsSinkConfig({ address: SHARED_NATS_URL, channel: subject }));
    closers.push(sink.close);

    const sent = ALL_KINDS.map((kind) => sampleEvent(kind, `team/${kind}`));
    for (const event of sent) {
      const receipt = await sink.deliver(event, attempt());
      assert.match(receipt.detail, /flushed/);
    }
    const got = await sub.waitForCount(sent.length);
    assert.equal(got.length, sent.length);
    for (const [i, msg] of got.entries()) {
      const event = sent[i]!;
      assert.equal(msg.headers, undefined, "structured mode sends no NATS headers, like zot");
      const json = msg.json<{ id: string; type: string; specversion: string; data: Record<string, unknown> }>();
      assert.equal(json.specversion, "1.0");
      assert.equal(json.id, event.id);
      assert.equal(json.type, event.type);
      assert.equal(json.data.name, event.data.name);
      assert.equal(json.data.reference, event.data.reference);
      assert.deepEqual(json.data, event.data);
    }
  });

  test("binary mode: ce- headers carry the attributes and the payload is data", async () => {
    const subject = uniqueName("berth.bin");
    const sub = await subscribe(SHARED_NATS_URL, subject);
    closers.push(sub.close);
    const sink = createNatsSink(natsSinkConfig({ address: SHARED_NATS_URL, channel: subject, mode: "binary" }));
    closers.push(sink.close);
    const event = sampleEvent("image.deleted");

    await sink.deliver(event, attempt());
    const [msg] = await sub.waitForCount(1);
    assert.ok(msg?.headers);
    assert.equal(msg.headers.get("ce-id"), event.id);
    assert.equal(msg.headers.get("ce-type"), event.type);
    assert.equal(msg.headers.get("ce-source"), event.source);
    assert.equal(msg.headers.get("ce-specversion"), "1.0");
    assert.deepEqual(msg.json(), event.data);
  });

  test("one comma-separated address list: a dead first server does not stop delivery", async () => {
    const subject = uniqueName("berth.list");
    const dead = await startNatsServer({ jetstream: false });
    await dead.destroy();
    const sub = await subscribe(SHARED_NATS_URL, subject);
    closers.push(sub.close);
    const sink = createNatsSink(natsSinkConfig({ address: `${dead.url}, ${SHARED_NATS_URL}`, channel: subject }));
    closers.push(sink.close);

    await sink.deliver(sampleEvent(), attempt());
    assert.equal((await sub.waitForCount(1)).length, 1);
  });

  test("server down at start: deliver fails as unreachable within its signal, then connects once it is up", async () => {
    const server = await startNatsServer({ jetstream: false });
    closers.push(server.destroy);
    await server.stop();
    const subject = uniqueName("berth.late");
    const sink = createNatsSink(natsSinkConfig({ address: server.url, channel: subject }));
    closers.push(sink.close);

    await assert.rejects(sink.deliver(sampleEvent(), attempt(300)), (err: unknown) => {
      assert.ok(err instanceof TransientDeliveryError);
      assert.equal(err.reason, "unreachable");
      return true;
    });
    await server.start();
    const sub = await subscribe(server.url, subject);
    closers.push(sub.close);
    await sink.deliver(sampleEvent(), attempt(10_000));
    assert.equal((await sub.waitForCount(1)).length, 1);
  });

  test("server lost after connecting: the flush is not confirmed, the attempt fails transiently, and delivery resumes after restart", async () => {
    const server = await startNatsServer({ jetstream: false });
    closers.push(server.destroy);
    const subject = uniqueName("berth.lost");
    const sink = createNatsSink(natsSinkConfig({ address: server.url, channel: subject }));
    closers.push(sink.close);
    await sink.deliver(sampleEvent(), attempt());

    await server.stop();
    await assert.rejects(sink.deliver(sampleEvent(), attempt(300)), TransientDeliveryError);
    await server.start();
    const sub = await subscribe(server.url, subject);
    closers.push(sub.close);
    const event = sampleEvent();
    await sink.deliver(event, attempt(15_000));
    await sub.waitForCount(1);
    assert.ok(sub.messages.some((m) => m.json<{ id: string }>().id === event.id));
  });

  test("close drains, is idempotent, and a later deliver fails transiently", async () => {
    const subject = uniqueName("berth.close");
    const sink = createNatsSink(natsSinkConfig({ address: SHARED_NATS_URL, channel: subject }));
    await sink.deliver(sampleEvent(), attempt());
    await sink.close();
    await sink.close();
    await assert.rejects(sink.deliver(sampleEvent(), attempt()), (err: unknown) => {
      assert.ok(err instanceof TransientDeliveryError);
      assert.equal(err.reason, "closed");
      return true;
    });
  });

  test("an invalid subject is a permanent failure", async () => {
    const sink = createNatsSink(natsSinkConfig({ address: SHARED_NATS_URL, channel: "bad subject" }));
    closers.push(sink.close);
    await assert.rejects(sink.deliver(sampleEvent(), attempt()), (err: unknown) => {
      assert.ok(err instanceof PermanentDeliveryError);
      assert.equal(err.reason, "invalid_message");
      return true;
    });
  });

  test("a nats sink without a channel is refused at creation", () => {
    const config = natsSinkConfig({ address: SHARED_NATS_URL, channel: "x" });
    delete config.channel;
    assert.throws(() => createNatsSink(config), NatsSinkConfigError);
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PermanentDeliveryError, TransientDeliveryError } from "@berth/delivery";
import { SHARED_NATS_URL, startNatsServer, uniqueName } from "@berth/testing";
import { type JetStreamManager, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { createNatsSink } from "./create-nats-sink.js";
import { sampleEvent } from "./test-support/events.js";
import { natsSinkConfig } from "./test-support/sink-config.js";

const attempt = (ms = 5_000) => ({ signal: AbortSignal.timeout(ms), attempt: 1 });
const streamName = () => uniqueName("BERTH_JS").replace(/[^A-Za-z0-9_-]/g, "_");

describe("nats sink, JetStream mode", () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    nc = await connect({ servers: SHARED_NATS_URL });
    jsm = await jetstreamManager(nc);
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    for (const s of streams) await jsm.streams.delete(s);
    await nc.close();
  });

  async function withStream(): Promise<{ subject: string; stream: string }> {
    const subject = uniqueName("berth.js");
    const stream = streamName();
    await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.Memory });
    streams.push(stream);
    return { subject, stream };
  }

  test("delivered means acked: the stream holds the event, with its id as Nats-Msg-Id, when deliver resolves", async () => {
    const { subject, stream } = await withStream();
    const sink = createNatsSink(natsSinkConfig({ address: SHARED_NATS_URL, channel: subject, jetstream: true }));
    closers.push(sink.close);
    const event = sampleEvent("image.updated");

    const receipt = await sink.deliver(event, attempt());
    assert.match(receipt.detail, new RegExp(`jetstream ${stream} seq 1$`));
    const stored = await jsm.streams.getMessage(stream, { seq: 1 });
    assert.ok(stored);
    assert.equal(stored.header.get("Nats-Msg-Id"), event.id);
    const json = stored.json<{ type: string; data: { name: string; reference: string } }>();
    assert.equal(json.type, event.type);
    assert.equal(json.data.name, event.data.name);
    assert.equal(json.data.reference, event.data.reference);
  });

  test("the same event delivered twice is stored once; the second receipt says duplicate", async () => {
    const { subject, stream } = await withStream();
    const sink = createNatsSink(natsSinkConfig({ address: SHARED_NATS_URL, channel: subject, jetstream: true }));
    closers.push(sink.close);
    const event = sampleEvent();

    await sink.deliver(event, attempt());
    const again = await sink.deliver(event, attempt());
    assert.match(again.detail, /duplicate$/);
    assert.equal((await jsm.streams.info(stream)).state.messages, 1);
  });

  test("no stream for the subject: PermanentDeliveryError no_stream naming the subject", async () => {
    const subject = uniqueName("berth.nostream");
    const sink = createNatsSink(natsSinkConfig({ address: SHARED_NATS_URL, channel: subject, jetstream: true }));
    closers.push(sink.close);
    await assert.rejects(sink.deliver(sampleEvent(), attempt()), (err: unknown) => {
      assert.ok(err instanceof PermanentDeliveryError);
      assert.equal(err.reason, "no_stream");
      assert.ok(err.message.includes(subject), err.message);
      return true;
    });
  });

  test("server stopped: the publish is not acked (transient); after a restart the same event is stored once", async () => {
    const server = await startNatsServer({ jetstream: true });
    closers.push(server.destroy);
    const own = await connect({ servers: server.url });
    const ownJsm = await jetstreamManager(own);
    const subject = uniqueName("berth.jsdown");
    const stream = streamName();
    await ownJsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
    await own.close();
    const sink = createNatsSink(natsSinkConfig({ address: server.url, channel: subject, jetstream: true }));
    closers.push(sink.close);
    await sink.deliver(sampleEvent(), attempt());

    await server.stop("SIGTERM");
    const event = sampleEvent();
    await assert.rejects(sink.deliver(event, attempt(300)), TransientDeliveryError);
    await server.start();
    await sink.deliver(event, attempt(15_000));
    await sink.deliver(event, attempt());

    const check = await connect({ servers: server.url });
    try {
      const info = await (await jetstreamManager(check)).streams.info(stream);
      assert.equal(info.state.messages, 2, "the first event and the retried one, once");
    } finally {
      await check.close();
    }
  });
});

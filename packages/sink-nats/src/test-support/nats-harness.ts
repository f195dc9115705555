import type { SinkConfig } from "@berth/config";
import type { DestinationMode, SinkHarness } from "@berth/delivery-contract";
import type { Sink } from "@berth/delivery";
import { SHARED_NATS_URL, uniqueName, waitFor } from "@berth/testing";
import { type ConsumerMessages, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createNatsSink } from "../create-nats-sink.js";
import { natsSinkConfig } from "./sink-config.js";
import { type ProxyMode, startTcpProxy } from "./tcp-proxy.js";

const PROXY_MODE: Record<DestinationMode, ProxyMode> = {
  healthy: "pass",
  transient: "refuse",
  permanent: "pass",
  hang: "hang",
  slow: "slow",
};

function sharedNatsPort(): number {
  return Number(new URL(SHARED_NATS_URL).port);
}

/**
 * The shared contract's destination for `jetstream: true`: a unique stream on the shared server,
 * reached through a proxy that plays outages. `permanent` moves the stream off the subject (so a
 * publish finds no stream); `received()` reads the stream, so it shows what JetStream acked.
 */
export async function startJetStreamHarness(): Promise<SinkHarness> {
  const subject = uniqueName("berth.contract.js");
  const stream = uniqueName("BERTH_CONTRACT").replace(/[^A-Za-z0-9_-]/g, "_");
  const proxy = await startTcpProxy(sharedNatsPort());
  const nc = await connect({ servers: SHARED_NATS_URL });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.Memory });

  const ids: string[] = [];
  let seenSeq = 0;
  const consumer = await jetstream(nc).consumers.get(stream);
  const messages: ConsumerMessages = await consumer.consume();
  void (async () => {
    for await (const m of messages) {
      ids.push(m.headers?.get("Nats-Msg-Id") ?? "");
      seenSeq = m.seq;
    }
  })();

  let streamChange: Promise<unknown> = Promise.resolve();
  let parked = false;
  const park = (yes: boolean) => {
    if (parked === yes) return;
    parked = yes;
    const subjects = [yes ? `${subject}.parked` : subject];
    streamChange = streamChange.then(() => jsm.streams.update(stream, { subjects }));
  };

  return {
    modes: ["healthy", "transient", "permanent", "hang", "slow"],
    sinkConfig: (overrides?: Partial<SinkConfig>) =>
      natsSinkConfig({ address: proxy.url, channel: subject, jetstream: true, ...overrides }),
    rawSinkConfig: () => ({ type: "nats", address: proxy.url, channel: subject, jetstream: true }),
    createSink: (sink) => afterStreamChange(createNatsSink(sink), () => streamChange),
    setMode(mode) {
      proxy.setMode(PROXY_MODE[mode]);
      park(mode === "permanent");
    },
    async received() {
      await streamChange;
      const info = await jsm.streams.info(stream);
      const last = info.state.last_seq;
      await waitFor(`stream ${stream} read up to seq ${last}`, () => seenSeq >= last);
      return [...ids];
    },
    async close() {
      await messages.close();
      await jsm.streams.delete(stream);
      await nc.close();
      await proxy.close();
    },
  };
}

/**
 * The destination for core NATS: a plain subscriber on the shared server. After the
 * subscriber's own flush round trip, it has seen everything the server accepted before.
 */
export async function startCoreHarness(): Promise<SinkHarness> {
  const subject = uniqueName("berth.contract.core");
  const proxy = await startTcpProxy(sharedNatsPort());
  const nc = await connect({ servers: SHARED_NATS_URL });
  const ids: string[] = [];
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (!err) ids.push(msg.json<{ id: string }>().id);
    },
  });
  await nc.flush();
  return {
    modes: ["healthy", "transient", "hang", "slow"],
    sinkConfig: (overrides?: Partial<SinkConfig>) => natsSinkConfig({ address: proxy.url, channel: subject, ...overrides }),
    rawSinkConfig: () => ({ type: "nats", address: proxy.url, channel: subject }),
    createSink: (sink) => createNatsSink(sink),
    setMode: (mode) => proxy.setMode(PROXY_MODE[mode]),
    async received() {
      await nc.flush();
      return [...ids];
    },
    async close() {
      await nc.close();
      await proxy.close();
    },
  };
}

/** The real sink; each delivery first lets the harness finish re-pointing its stream. */
function afterStreamChange(sink: Sink, change: () => Promise<unknown>): Sink {
  return {
    name: sink.name,
    async deliver(event, options) {
      await change();
      return sink.deliver(event, options);
    },
    close: () => sink.close(),
  };
}

/**
 * An event larger than the server's max_payload (issue 16, finding 3): sent without its manifest
 * (`manifestomitted: size`) instead of failing on every attempt and being dead-lettered, against
 * a nats-server of our own started with `max_payload: 4096`.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BerthEvent } from "@berth/events";
import { type OwnServer, uniqueName } from "@berth/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createNatsSink } from "./create-nats-sink.js";
import { buildNatsMessage, messageBytes } from "./nats-message.js";
import { sampleEvent } from "./test-support/events.js";
import { startConfiguredNatsServer } from "./test-support/nats-server-config.js";
import { natsSinkConfig } from "./test-support/sink-config.js";
import { subscribe } from "./test-support/subscriber.js";

const MAX_PAYLOAD = 4096;
const attempt = () => ({ signal: AbortSignal.timeout(5_000), attempt: 1 });

function withManifest(bytes: number): BerthEvent {
  const event = sampleEvent("image.updated", "big/app");
  return { ...event, data: { ...event.data, manifest: `{"pad":"${"x".repeat(bytes)}"}` } };
}

describe("nats sink over a server with a small max_payload", () => {
  let server: OwnServer;
  let storeDir: string;
  before(async () => {
    storeDir = await mkdtemp(join(tmpdir(), "berth-nats-js-"));
    server = await startConfiguredNatsServer(`max_payload: ${MAX_PAYLOAD}\njetstream { store_dir: "${storeDir}" }\n`);
  });
  after(async () => {
    await server?.destroy();
    await rm(storeDir, { recursive: true, force: true });
  });

  for (const mode of ["structured", "binary"] as const) {
    test(`${mode}: a too-large event arrives without its manifest, flagged manifestomitted=size; a small one arrives whole`, async () => {
      const subject = uniqueName("berth.big");
      const sub = await subscribe(server.url, subject);
      const sink = createNatsSink(natsSinkConfig({ address: server.url, channel: subject, mode }));
      try {
        const big = withManifest(3 * MAX_PAYLOAD);
        const small = withManifest(100);
        const receipt = await sink.deliver(big, attempt());
        assert.match(receipt.detail, /manifest left out \(event over the server's max_payload of 4096 bytes\)/);
        assert.doesNotMatch((await sink.deliver(small, attempt())).detail, /left out/);
        const [first, second] = await sub.waitForCount(2);
        const read = (msg: typeof first) => {
          if (mode === "structured") {
            const json = msg!.json<{ id: string; manifestomitted?: string; data: Record<string, unknown> }>();
            return { id: json.id, omitted: json.manifestomitted, data: json.data };
          }
          return { id: msg!.headers?.get("ce-id"), omitted: msg!.headers?.get("ce-manifestomitted") || undefined, data: msg!.json<Record<string, unknown>>() };
        };
        const gotBig = read(first);
        assert.equal(gotBig.id, big.id);
        assert.equal(gotBig.omitted, "size");
        assert.equal(gotBig.data.manifest, undefined);
        assert.equal(gotBig.data.digest, big.data.digest, "the digest stays: consumers fetch the manifest by it");
        const gotSmall = read(second);
        assert.equal(gotSmall.omitted, undefined);
        assert.equal(gotSmall.data.manifest, small.data.manifest);
      } finally {
        await sink.close();
        await sub.close();
      }
    });
  }

  test("jetstream: a too-large event is stored without its manifest (acked, not dead-lettered)", async () => {
    const subject = uniqueName("berth.bigjs");
    const stream = subject.replaceAll(".", "_");
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [subject] });
    const sink = createNatsSink(natsSinkConfig({ address: server.url, channel: subject, jetstream: true }));
    try {
      // Just over the limit with the Nats-Msg-Id header the client adds, under it without.
      let bytes = 0;
      while (messageBytes(buildNatsMessage(withManifest(bytes + 1), { mode: "structured" })) < MAX_PAYLOAD - 20) bytes++;
      const receipt = await sink.deliver(withManifest(bytes), attempt());
      assert.match(receipt.detail, /jetstream .* seq 1.*manifest left out/);
      const stored = await jsm.streams.getMessage(stream, { seq: 1 });
      assert.equal(stored?.json<{ manifestomitted?: string }>().manifestomitted, "size");
    } finally {
      await sink.close();
      await jsm.streams.delete(stream);
      await nc.close();
    }
  });

  test("messageBytes counts what the client counts against max_payload", () => {
    const message = buildNatsMessage(withManifest(10), { mode: "binary" });
    const encoded = (message.headers as unknown as { encode(): Uint8Array }).encode().length;
    assert.equal(messageBytes(message), message.payload.length + encoded);
  });
});

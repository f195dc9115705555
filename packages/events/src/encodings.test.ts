import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CloudEventV1, HTTP } from "cloudevents";
import { type BerthEvent, type EventData, formatSequence } from "./event.js";
import { createEventFactory } from "./event-factory.js";
import { encodeHeaderValue } from "./header-value.js";
import { toHttpBinary } from "./http-binary.js";
import { toHttpStructured } from "./http-structured.js";
import { toNatsBinary } from "./nats-binary.js";
import { toNatsStructured } from "./nats-structured.js";
import { shapePayload } from "./payload.js";

const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: "sha256:c0ffee", size: 2 },
  layers: [],
});

/** The seed's example payload, as zot builds it for an authenticated manifest PUT. */
function zotLikeEvent(): BerthEvent {
  const factory = createEventFactory({
    now: () => new Date("2025-05-01T12:00:00.000Z"),
    newId: () => "0d9a8a40-5a0e-4a5b-9c1e-3f0f0b7a1c11",
  });
  return factory.build(
    "image.updated",
    {
      name: "space/my-image",
      reference: "latest",
      digest: "sha256:abc",
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      manifest: MANIFEST,
    },
    {
      actor: { name: "john" },
      request: { addr: "192.168.0.1:54321", method: "PUT", useragent: "docker/24.0.5" },
    },
  );
}

function single(parsed: CloudEventV1<unknown> | CloudEventV1<unknown>[]): CloudEventV1<unknown> {
  assert.ok(!Array.isArray(parsed), "expected one event, got a batch");
  return parsed;
}

function assertSameEvent(parsed: CloudEventV1<unknown>, event: BerthEvent): void {
  assert.equal(parsed.specversion, "1.0");
  assert.equal(parsed.id, event.id);
  assert.equal(parsed.source, event.source);
  assert.equal(parsed.type, event.type);
  assert.equal(new Date(String(parsed.time)).toISOString(), event.time);
  assert.equal(parsed.datacontenttype, "application/json");
  assert.deepEqual(parsed.data, event.data);
}

describe("toHttpBinary", () => {
  it("is read back by the cloudevents SDK as the same event", () => {
    const event = zotLikeEvent();
    const message = toHttpBinary(event);
    assertSameEvent(single(HTTP.toEvent(message)), event);
  });

  it("sends exactly zot's headers and data as the JSON body, manifest as a string", () => {
    const event = zotLikeEvent();
    const { headers, body } = toHttpBinary(event);
    assert.deepEqual(headers, {
      "ce-specversion": "1.0",
      "ce-id": "0d9a8a40-5a0e-4a5b-9c1e-3f0f0b7a1c11",
      "ce-source": "zotregistry.dev",
      "ce-type": "zotregistry.image.updated",
      "ce-time": "2025-05-01T12:00:00.000Z",
      "content-type": "application/json",
    });
    const data = JSON.parse(body) as EventData;
    assert.equal(typeof data.manifest, "string");
    assert.equal(data.manifest, MANIFEST);
    assert.deepEqual(data, event.data);
  });

  it("adds ce-channel when the sink has a channel, as zot's channel extension", () => {
    const event = zotLikeEvent();
    const { headers } = toHttpBinary(event, { channel: "alerts" });
    assert.equal(headers["ce-channel"], "alerts");
    const parsed = single(HTTP.toEvent(toHttpBinary(event, { channel: "alerts" })));
    assert.equal(parsed["channel"], "alerts");
    assert.equal(toHttpBinary(event).headers["ce-channel"], undefined);
  });

  it("omits actor and request for an internally triggered event", () => {
    const event = createEventFactory().build("repository.created", { name: "prod/app" });
    const message = toHttpBinary(event);
    assert.deepEqual(JSON.parse(message.body), { name: "prod/app" });
    assertSameEvent(single(HTTP.toEvent(message)), event);
  });
});

describe("toHttpStructured", () => {
  it("is application/cloudevents+json and read back by the SDK", () => {
    const event = zotLikeEvent();
    const message = toHttpStructured(event);
    assert.equal(message.headers["content-type"], "application/cloudevents+json");
    assertSameEvent(single(HTTP.toEvent(message)), event);
  });

  it("matches the golden JSON of zot's Go SDK member order", () => {
    const { body } = toHttpStructured(zotLikeEvent());
    const expected =
      '{"specversion":"1.0","id":"0d9a8a40-5a0e-4a5b-9c1e-3f0f0b7a1c11","source":"zotregistry.dev",' +
      '"type":"zotregistry.image.updated","datacontenttype":"application/json",' +
      '"time":"2025-05-01T12:00:00.000Z","data":{"name":"space/my-image","reference":"latest",' +
      '"digest":"sha256:abc","mediaType":"application/vnd.oci.image.manifest.v1+json",' +
      `"manifest":${JSON.stringify(MANIFEST)},"actor":{"name":"john"},` +
      '"request":{"addr":"192.168.0.1:54321","method":"PUT","useragent":"docker/24.0.5"}}}';
    assert.equal(body, expected);
  });
});

describe("toNatsStructured", () => {
  it("is the structured JSON a zot consumer reads .type and .data.name from", () => {
    const event = zotLikeEvent();
    const bytes = toNatsStructured(event);
    assert.ok(bytes instanceof Uint8Array);
    const text = new TextDecoder().decode(bytes);
    const raw = JSON.parse(text) as { type: string; data: { name: string } };
    assert.equal(raw.type, "zotregistry.image.updated");
    assert.equal(raw.data.name, "space/my-image");
    // The JSON event format is the same on every transport, so the SDK's parser reads it.
    const parsed = HTTP.toEvent({ headers: { "content-type": "application/cloudevents+json" }, body: text });
    assertSameEvent(single(parsed), event);
    assert.equal(text, toHttpStructured(event).body);
  });
});

describe("toNatsBinary", () => {
  it("carries ce- headers and data as the payload, read back by the SDK", () => {
    const event = zotLikeEvent();
    const { headers, body } = toNatsBinary(event);
    assert.equal(headers["ce-id"], event.id);
    assert.equal(headers["ce-type"], event.type);
    assert.equal(headers["content-type"], "application/json");
    const text = new TextDecoder().decode(body);
    assertSameEvent(single(HTTP.toEvent({ headers, body: text })), event);
  });
});

describe("encodeHeaderValue", () => {
  it("percent-encodes space, quote, percent and non-ASCII as UTF-8 (HTTP binding §3.1.3.2)", () => {
    assert.equal(encodeHeaderValue("zotregistry.dev"), "zotregistry.dev");
    assert.equal(encodeHeaderValue('a b"c%d'), "a%20b%22c%25d");
    assert.equal(encodeHeaderValue("€"), "%E2%82%AC");
    assert.equal(decodeURIComponent(encodeHeaderValue("urn:acme reg/€ \"x\"")), 'urn:acme reg/€ "x"');
  });
});

describe("extension attributes (sequence, snapshot, outoforder)", () => {
  const sequenced = (): BerthEvent => ({ ...zotLikeEvent(), sequence: formatSequence(42), snapshot: true });

  it("the sequence is a 20-digit decimal, so string order is numeric order", () => {
    assert.equal(formatSequence(42), "00000000000000000042");
    assert.equal(formatSequence(9n), "00000000000000000009");
    const values = [10, 9, 100, 2].map(formatSequence).sort();
    assert.deepEqual(values.map(Number), [2, 9, 10, 100]);
  });

  it("binary mode (HTTP and NATS) sends ce-sequence and ce-snapshot, read back by the SDK", () => {
    for (const message of [toHttpBinary(sequenced()), toNatsBinary(sequenced())]) {
      assert.equal(message.headers["ce-sequence"], "00000000000000000042");
      assert.equal(message.headers["ce-snapshot"], "true");
      assert.equal(message.headers["ce-outoforder"], undefined);
      const body = typeof message.body === "string" ? message.body : new TextDecoder().decode(message.body);
      const parsed = single(HTTP.toEvent({ headers: message.headers, body }));
      assert.equal(parsed["sequence"], "00000000000000000042");
    }
  });

  it("structured mode writes them as top-level members before data; absent ones are left out", () => {
    const body = JSON.parse(toHttpStructured({ ...sequenced(), outoforder: true }).body) as Record<string, unknown>;
    assert.equal(body.sequence, "00000000000000000042");
    assert.equal(body.snapshot, true);
    assert.equal(body.outoforder, true);
    assert.deepEqual(Object.keys(body).slice(-4), ["sequence", "snapshot", "outoforder", "data"]);
    assert.ok(!("sequence" in (JSON.parse(toHttpStructured(zotLikeEvent()).body) as object)));
    const parsed = single(HTTP.toEvent(toHttpStructured(sequenced())));
    assert.equal(parsed["sequence"], "00000000000000000042");
  });

  it("an event without them encodes exactly as before (zot's headers only)", () => {
    assert.deepEqual(Object.keys(toHttpBinary(zotLikeEvent()).headers).filter((h) => h.startsWith("ce-")), [
      "ce-specversion",
      "ce-id",
      "ce-source",
      "ce-type",
      "ce-time",
    ]);
  });
});

describe("payload shaping (manifestomitted)", () => {
  it("thin and size leave data.manifest out and say so in every encoding, read back by the SDK", () => {
    const event = zotLikeEvent();
    for (const [options, reason] of [[{ payload: "thin" }, "thin"], [{ maxManifestBytes: 10 }, "size"]] as const) {
      const shaped = shapePayload(event, options);
      assert.equal(shaped.data.manifest, undefined);
      assert.equal(shaped.manifestomitted, reason);
      assert.equal(event.data.manifest, MANIFEST, "the original is untouched");
      const binary = toHttpBinary(shaped);
      assert.equal(binary.headers["ce-manifestomitted"], reason);
      assert.equal(single(HTTP.toEvent(binary)).manifestomitted, reason);
      const structured = JSON.parse(toHttpStructured(shaped).body) as Record<string, unknown>;
      assert.equal(structured.manifestomitted, reason);
      assert.equal(single(HTTP.toEvent(toHttpStructured(shaped))).manifestomitted, reason);
      assert.equal(toNatsBinary(shaped).headers["ce-manifestomitted"], reason);
    }
  });

  it("keeps the same object when nothing is left out: full, under the cap, or no manifest", () => {
    const event = zotLikeEvent();
    assert.equal(shapePayload(event, {}), event);
    assert.equal(shapePayload(event, { payload: "full", maxManifestBytes: Buffer.byteLength(MANIFEST) }), event);
    const deleted = { ...event, data: { name: "a" } };
    assert.equal(shapePayload(deleted, { payload: "thin" }), deleted);
    assert.equal("manifestomitted" in JSON.parse(new TextDecoder().decode(toNatsStructured(event))), false);
  });

  it("counts UTF-8 bytes, not characters", () => {
    const event = { ...zotLikeEvent(), data: { name: "a", manifest: "é".repeat(10) } };
    assert.equal(shapePayload(event, { maxManifestBytes: 19 }).manifestomitted, "size");
    assert.equal(shapePayload(event, { maxManifestBytes: 20 }), event);
  });
});

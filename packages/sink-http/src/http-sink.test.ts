import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PermanentDeliveryError, type Sink, TransientDeliveryError } from "@berth/delivery";
import { createEventFactory } from "@berth/events";
import { createHttpSink } from "./http-sink.js";
import { httpSinkConfig } from "./test-support/http-harness.js";
import { type Receiver, startReceiver } from "./test-support/receiver.js";
import { type TestPki, makeTestPki } from "@berth/testing/test-pki";
import { webhookSignature } from "./webhook-signature.js";

const factory = createEventFactory();
const event = () => factory.build("image.updated", { name: "alpine", reference: "3.20", digest: "sha256:abc" });
const opts = () => ({ signal: AbortSignal.timeout(5_000), attempt: 1 });

describe("HTTP sink against real receivers", () => {
  let receiver: Receiver;
  const sinks: Sink[] = [];
  const sinkFor = (overrides: Parameters<typeof httpSinkConfig>[1] = {}, url = receiver.url) => {
    const s = createHttpSink(httpSinkConfig(url, overrides));
    sinks.push(s);
    return s;
  };

  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    for (const s of sinks) await s.close();
    await receiver.close();
  });

  it("a receiver checking what zot's tests check (Ce-Type, basic auth, body name) accepts the delivery", async () => {
    // zot's webhook tests: r.Header.Get("Ce-Type"), r.BasicAuth() == (user, pass), body["name"].
    receiver.answer = (r) => {
      const [scheme, encoded] = (r.headers.authorization ?? "").split(" ");
      const [user, pass] = Buffer.from(encoded ?? "", "base64").toString().split(":");
      const ok =
        r.headers["ce-type"] === "zotregistry.image.updated" &&
        scheme === "Basic" &&
        user === "zot" &&
        pass === "s3cret" &&
        JSON.parse(r.body).name === "alpine";
      return { status: ok ? 200 : 400 };
    };
    const e = event();
    const receipt = await sinkFor({ credentials: { username: "zot", password: "s3cret" } }).deliver(e, opts());
    assert.equal(receipt.detail, "HTTP 200");
    const got = receiver.requests.at(-1)!;
    assert.equal(got.method, "POST");
    assert.equal(got.headers["ce-id"], e.id);
    assert.equal(got.headers["ce-specversion"], "1.0");
    assert.equal(got.headers["ce-source"], e.source);
    assert.equal(got.headers["ce-time"], e.time);
    assert.match(got.headers["content-type"] ?? "", /^application\/json/);
  });

  it("bearer token and custom headers arrive", async () => {
    receiver.answer = () => ({ status: 202 });
    await sinkFor({ credentials: { token: "tok-123" }, headers: { "X-Tenant": "blue" } }).deliver(event(), opts());
    const got = receiver.requests.at(-1)!;
    assert.equal(got.headers.authorization, "Bearer tok-123");
    assert.equal(got.headers["x-tenant"], "blue");
  });

  it("the Standard Webhooks signature verifies at the receiver", async () => {
    receiver.answer = () => ({ status: 204 });
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const e = event();
    await sinkFor({ signingSecret: secret }).deliver(e, opts());
    const got = receiver.requests.at(-1)!;
    const ts = Number(got.headers["webhook-timestamp"]);
    assert.equal(got.headers["webhook-id"], e.id);
    assert.ok(Math.abs(ts - Date.now() / 1000) < 300, "timestamp is now (replay window)");
    assert.equal(got.headers["webhook-signature"], webhookSignature(secret, e.id, ts, got.body));
  });

  it("5xx and 429 are transient and carry Retry-After; 4xx permanent; 410 pauses the sink", async () => {
    const s = sinkFor();
    receiver.answer = () => ({ status: 503, headers: { "retry-after": "2" } });
    const e503 = await s.deliver(event(), opts()).catch((e: unknown) => e);
    assert.ok(e503 instanceof TransientDeliveryError);
    assert.equal(e503.reason, "http_503");
    assert.equal(e503.retryAfterMs, 2_000);
    receiver.answer = () => ({ status: 429 });
    await assert.rejects(s.deliver(event(), opts()), TransientDeliveryError);
    receiver.answer = () => ({ status: 400 });
    const e400 = await s.deliver(event(), opts()).catch((e: unknown) => e);
    assert.ok(e400 instanceof PermanentDeliveryError);
    assert.equal(e400.pauseSink, false);
    receiver.answer = () => ({ status: 410 });
    const e410 = await s.deliver(event(), opts()).catch((e: unknown) => e);
    assert.ok(e410 instanceof PermanentDeliveryError);
    assert.equal(e410.pauseSink, true);
  });

  it("302 is not followed and fails permanently", async () => {
    const target = await startReceiver();
    try {
      receiver.answer = () => ({ status: 302, headers: { location: target.url } });
      const before = receiver.requests.length;
      const err = await sinkFor().deliver(event(), opts()).catch((e: unknown) => e);
      assert.ok(err instanceof PermanentDeliveryError);
      assert.equal(err.reason, "http_3xx");
      assert.equal(receiver.requests.length, before + 1);
      assert.equal(target.requests.length, 0, "the redirect target was never contacted");
    } finally {
      await target.close();
    }
  });

  it("a hanging receiver: the attempt's signal ends it as a transient timeout", async () => {
    receiver.answer = () => ({ hang: true });
    const err = await sinkFor().deliver(event(), { signal: AbortSignal.timeout(200), attempt: 1 }).catch((e: unknown) => e);
    assert.ok(err instanceof TransientDeliveryError);
    assert.equal(err.reason, "timeout");
    receiver.answer = () => ({ status: 204 });
  });

  it("error messages never carry credentials", async () => {
    const secrets = { username: "admin", password: "pw-SECRET-1", token: "tok-SECRET-2" };
    receiver.answer = () => ({ status: 401 });
    const denied = await sinkFor({ credentials: secrets }).deliver(event(), opts()).catch((e: unknown) => e);
    const refused = await createHttpSink(httpSinkConfig("http://admin:pw-SECRET-1@127.0.0.1:1/x", { credentials: secrets }))
      .deliver(event(), opts())
      .catch((e: unknown) => e);
    assert.ok(refused instanceof TransientDeliveryError);
    assert.equal(refused.reason, "network");
    for (const err of [denied, refused]) {
      const text = `${(err as Error).message} ${JSON.stringify(err)}`;
      assert.ok(!/SECRET|Basic |Bearer /.test(text), text);
    }
  });
});

describe("HTTP sink over mutual TLS", () => {
  let pki: TestPki;
  let receiver: Receiver;
  before(async () => {
    pki = makeTestPki();
    receiver = await startReceiver({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true },
    });
  });
  after(async () => {
    await receiver.close();
    pki.remove();
  });

  it("delivers with the client certificate, verifying the server against the test CA", async () => {
    receiver.answer = (r) => ({ status: r.clientCertCN === "berth-client" ? 204 : 403 });
    const sink = createHttpSink(
      httpSinkConfig(receiver.url, {
        tls: { caCertFile: pki.caCertFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
      }),
    );
    try {
      assert.equal((await sink.deliver(event(), opts())).detail, "HTTP 204");
      assert.equal(receiver.requests.at(-1)!.clientCertCN, "berth-client");
    } finally {
      await sink.close();
    }
  });

  it("without the CA the server is not trusted (transient network failure, nothing sent)", async () => {
    const before = receiver.requests.length;
    const sink = createHttpSink(httpSinkConfig(receiver.url));
    try {
      const err = await sink.deliver(event(), opts()).catch((e: unknown) => e);
      assert.ok(err instanceof TransientDeliveryError);
      assert.equal(receiver.requests.length, before);
    } finally {
      await sink.close();
    }
  });
});

/** The HTTP sink through a real forward proxy (CONNECT tunnels), to plain and TLS receivers. */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Sink, TransientDeliveryError } from "@berth/delivery";
import { createEventFactory } from "@berth/events";
import { waitFor } from "@berth/testing";
import { HttpSinkConfigError } from "./http-agents.js";
import { createHttpSink } from "./http-sink.js";
import { type ForwardProxy, startForwardProxy } from "./test-support/forward-proxy.js";
import { httpSinkConfig } from "./test-support/http-harness.js";
import { type Receiver, startReceiver } from "./test-support/receiver.js";
import { type TestPki, makeTestPki } from "@berth/testing/test-pki";

const factory = createEventFactory();
const event = () => factory.build("image.updated", { name: "alpine", reference: "3.20", digest: "sha256:abc" });
const opts = () => ({ signal: AbortSignal.timeout(5_000), attempt: 1 });
const PROXY_USER = "proxy-user";
const PROXY_PASSWORD = "proxy-SECRET-pw";

describe("HTTP sink through a forward proxy", () => {
  let pki: TestPki;
  let proxy: ForwardProxy;
  let plain: Receiver;
  let tlsReceiver: Receiver;
  const sinks: Sink[] = [];
  const proxyUrl = (password = PROXY_PASSWORD) => `http://${PROXY_USER}:${password}@127.0.0.1:${proxy.port}`;
  const sinkVia = (address: string, overrides: Parameters<typeof httpSinkConfig>[1] = {}) => {
    const s = createHttpSink(httpSinkConfig(address, { proxy: proxyUrl(), ...overrides }));
    sinks.push(s);
    return s;
  };
  const hostOf = (url: string) => new URL(url).host;
  const connectsTo = (url: string) => proxy.requests.filter((r) => r.method === "CONNECT" && r.target === hostOf(url));

  before(async () => {
    pki = makeTestPki();
    proxy = await startForwardProxy(`${PROXY_USER}:${PROXY_PASSWORD}`);
    plain = await startReceiver();
    tlsReceiver = await startReceiver({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true },
    });
  });
  after(async () => {
    for (const s of sinks) await s.close();
    await Promise.all([proxy.close(), plain.close(), tlsReceiver.close()]);
    pki.remove();
  });

  it("an http receiver is reached through an authenticated CONNECT tunnel, reused for the next delivery", async () => {
    const sink = sinkVia(plain.url, { credentials: { token: "tok-1" } });
    const [first, second] = [event(), event()];
    assert.equal((await sink.deliver(first, opts())).detail, "HTTP 204");
    assert.equal((await sink.deliver(second, opts())).detail, "HTTP 204");
    assert.deepEqual(
      plain.requests.slice(-2).map((r) => r.headers["ce-id"]),
      [first.id, second.id],
    );
    const arrived = plain.requests.at(-1)!;
    assert.equal(arrived.url, "/events", "origin-form inside the tunnel");
    assert.equal(arrived.headers.authorization, "Bearer tok-1");
    assert.equal(arrived.headers["proxy-authorization"], undefined, "proxy credentials stay with the proxy");
    const tunnels = connectsTo(plain.url);
    assert.equal(tunnels.length, 1, "one tunnel, kept alive across both deliveries");
    assert.equal(tunnels[0]!.credentials, `${PROXY_USER}:${PROXY_PASSWORD}`);
    assert.equal(tunnels[0]!.answer, 200);
    assert.ok(proxy.requests.every((r) => r.method === "CONNECT"), "no absolute-URI requests");
  });

  it("an https receiver: TLS (and the client certificate) end to end inside the tunnel, checked against the test CA", async () => {
    tlsReceiver.answer = (r) => ({ status: r.clientCertCN === "berth-client" ? 200 : 403 });
    const sink = sinkVia(tlsReceiver.url, {
      tls: { caCertFile: pki.caCertFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
    });
    const e = event();
    assert.equal((await sink.deliver(e, opts())).detail, "HTTP 200");
    assert.equal(tlsReceiver.requests.at(-1)!.headers["ce-id"], e.id);
    assert.equal(tlsReceiver.requests.at(-1)!.clientCertCN, "berth-client");
    assert.equal(connectsTo(tlsReceiver.url).length, 1);
  });

  it("an https receiver not trusted without the CA: transient failure, nothing delivered", async () => {
    const before = tlsReceiver.requests.length;
    const err = await sinkVia(tlsReceiver.url).deliver(event(), opts()).catch((e: unknown) => e);
    assert.ok(err instanceof TransientDeliveryError);
    assert.equal(err.reason, "network");
    assert.equal(tlsReceiver.requests.length, before);
  });

  it("wrong proxy credentials (407): transient network failure that names no secret", async () => {
    const before = plain.requests.length;
    const sink = sinkVia(plain.url, { proxy: proxyUrl("WRONG-SECRET-pw"), credentials: { password: "pw-SECRET", username: "u" } });
    const err = await sink.deliver(event(), opts()).catch((e: unknown) => e);
    assert.ok(err instanceof TransientDeliveryError);
    assert.equal(err.reason, "network");
    assert.equal(proxy.requests.at(-1)!.answer, 407);
    assert.equal(plain.requests.length, before);
    const text = `${err.message} ${JSON.stringify(err)} ${String(err.stack)}`;
    assert.match(err.message, new RegExp(`via proxy 127\\.0\\.0\\.1:${proxy.port}`));
    assert.ok(!/SECRET|proxy-user|Basic /.test(text), text);
  });

  it("a proxy that never answers CONNECT: the attempt times out and the pending tunnel is torn down", async () => {
    proxy.hang = true;
    try {
      const closedBefore = proxy.closedSockets();
      const sink = sinkVia(plain.url, { timeoutMs: 300 });
      const err = await sink
        .deliver(event(), { signal: AbortSignal.timeout(200), attempt: 1 })
        .catch((e: unknown) => e);
      assert.ok(err instanceof TransientDeliveryError);
      assert.equal(err.reason, "timeout");
      assert.equal(proxy.requests.at(-1)!.answer, "hang");
      await waitFor("hung CONNECT closed by the client", () => proxy.closedSockets() > closedBefore, { timeoutMs: 5_000 });
    } finally {
      proxy.hang = false;
    }
  });

  it("a proxy URL that is not http(s) is a config error that does not echo the URL", () => {
    assert.throws(
      () => createHttpSink(httpSinkConfig(plain.url, { proxy: "socks5://u:SECRET@127.0.0.1:1080" })),
      (err: unknown) => err instanceof HttpSinkConfigError && !err.message.includes("SECRET"),
    );
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SINK_NAME_PATTERN } from "./defaults.js";
import { defaultSinkName, sinkEnvName } from "./sink-name.js";

describe("defaultSinkName", () => {
  it("is type, host and a short hash of type + address + channel", () => {
    const name = defaultSinkName("http", "https://events.example.com/zot");
    assert.match(name, /^http-events-example-com-[0-9a-f]{8}$/);
  });

  it("is the same for the same sink every time", () => {
    assert.equal(
      defaultSinkName("nats", "nats://127.0.0.1:4222", "alerts"),
      defaultSinkName("nats", "nats://127.0.0.1:4222", "alerts"),
    );
  });

  it("differs when type, address or channel differ", () => {
    const names = new Set([
      defaultSinkName("nats", "nats://127.0.0.1:4222", "alerts"),
      defaultSinkName("nats", "nats://127.0.0.1:4222", "audit"),
      defaultSinkName("nats", "nats://127.0.0.1:4223", "alerts"),
      defaultSinkName("http", "http://127.0.0.1:4222/", "alerts"),
    ]);
    assert.equal(names.size, 4);
  });

  it("ignores credentials in the address, so rotating a URL password keeps the queue", () => {
    assert.equal(
      defaultSinkName("nats", "nats://u:old@bus:4222", "x"),
      defaultSinkName("nats", "nats://u:new@bus:4222", "x"),
    );
    assert.doesNotMatch(defaultSinkName("nats", "nats://u:secret@bus:4222", "x"), /secret/);
  });

  it("always matches the sink name pattern, even for long or odd hosts", () => {
    for (const address of [
      `https://${"very-long-subdomain.".repeat(10)}example.com/x`,
      "nats://[::1]:4222,nats://other:4222",
      "not a url",
    ]) {
      assert.match(defaultSinkName("http", address), SINK_NAME_PATTERN);
    }
  });
});

describe("sinkEnvName", () => {
  it("upper-cases the name and turns - into _", () => {
    assert.equal(sinkEnvName("ci-hook", "PASSWORD"), "BERTH_SINK_CI_HOOK_PASSWORD");
    assert.equal(sinkEnvName("audit", "SIGNING_SECRET"), "BERTH_SINK_AUDIT_SIGNING_SECRET");
  });
});

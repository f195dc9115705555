import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createEventFactory } from "@berth/events";
import { buildHttpRequest } from "./build-request.js";
import { parseRetryAfter } from "./retry-after.js";
import { httpSinkConfig } from "./test-support/http-harness.js";
import { webhookSignature } from "./webhook-signature.js";

const event = createEventFactory({ source: "zotregistry.dev" }).build("image.updated", {
  name: "alpine",
  reference: "3.20",
  digest: "sha256:abc",
  mediaType: "application/vnd.oci.image.manifest.v1+json",
});

describe("buildHttpRequest", () => {
  it("binary mode: ce-* headers, JSON content type, body = data, ce-channel from the sink", () => {
    const req = buildHttpRequest(event, httpSinkConfig("http://r.example/hook", { channel: "prod" }));
    assert.equal(req.url, "http://r.example/hook");
    assert.equal(req.method, "POST");
    assert.equal(req.headers["ce-id"], event.id);
    assert.equal(req.headers["ce-type"], "zotregistry.image.updated");
    assert.equal(req.headers["ce-specversion"], "1.0");
    assert.equal(req.headers["ce-source"], "zotregistry.dev");
    assert.equal(req.headers["ce-channel"], "prod");
    assert.match(req.headers["content-type"] ?? "", /^application\/json/);
    assert.deepEqual(JSON.parse(req.body), event.data);
  });

  it("structured mode: the whole event as application/cloudevents+json", () => {
    const req = buildHttpRequest(event, httpSinkConfig("http://r.example/hook", { mode: "structured" }));
    assert.match(req.headers["content-type"] ?? "", /^application\/cloudevents\+json/);
    const body = JSON.parse(req.body);
    assert.equal(body.id, event.id);
    assert.equal(body.data.name, "alpine");
    assert.equal(req.headers["ce-id"], undefined);
  });

  it("Basic from username/password wins over a token; Bearer from a token alone", () => {
    const basic = buildHttpRequest(event, httpSinkConfig("http://r", { credentials: { username: "u", password: "p:w", token: "t" } }));
    assert.equal(basic.headers["authorization"], `Basic ${Buffer.from("u:p:w").toString("base64")}`);
    const bearer = buildHttpRequest(event, httpSinkConfig("http://r", { credentials: { token: "t0k" } }));
    assert.equal(bearer.headers["authorization"], "Bearer t0k");
    const none = buildHttpRequest(event, httpSinkConfig("http://r"));
    assert.equal(none.headers["authorization"], undefined);
  });

  it("custom headers arrive but cannot replace CloudEvents headers or credentials", () => {
    const req = buildHttpRequest(
      event,
      httpSinkConfig("http://r", {
        headers: { "X-Team": "platform", "Ce-Id": "forged", Authorization: "Bearer custom" },
        credentials: { token: "real" },
      }),
    );
    assert.equal(req.headers["x-team"], "platform");
    assert.equal(req.headers["ce-id"], event.id);
    assert.equal(req.headers["authorization"], "Bearer real");
    const customAuthOnly = buildHttpRequest(event, httpSinkConfig("http://r", { headers: { Authorization: "Bearer custom" } }));
    assert.equal(customAuthOnly.headers["authorization"], "Bearer custom");
  });

  it("Standard Webhooks signature over id.timestamp.body", () => {
    const now = new Date("2024-05-01T12:00:00Z");
    const req = buildHttpRequest(event, httpSinkConfig("http://r", { signingSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }), now);
    assert.equal(req.headers["webhook-id"], event.id);
    assert.equal(req.headers["webhook-timestamp"], String(now.getTime() / 1000));
    assert.equal(
      req.headers["webhook-signature"],
      webhookSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", event.id, now.getTime() / 1000, req.body),
    );
  });

  it("webhookSignature matches the Standard Webhooks reference vector", () => {
    assert.equal(
      webhookSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
  });
});

describe("parseRetryAfter", () => {
  it("reads delay-seconds and HTTP dates; ignores garbage", () => {
    const now = Date.parse("2024-05-01T12:00:00Z");
    assert.equal(parseRetryAfter("2", now), 2_000);
    assert.equal(parseRetryAfter("Wed, 01 May 2024 12:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Wed, 01 May 2024 11:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

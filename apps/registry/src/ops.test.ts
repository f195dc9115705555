import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { waitFor } from "@berth/testing";
import { call, pushBlob, pushImage } from "./test-support/client.js";
import { makeImage, sha256 } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";

describe("operations: metrics, health, shutdown", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry({ health: () => ({ outbox: { enabled: false, redisConnected: false, journalDepth: 0 } }) });
  });
  after(() => reg.stop());

  it("/metrics counts requests by route and status, bytes in and out, latency", async () => {
    const data = randomBytes(1234);
    const digest = sha256(data);
    await pushBlob(reg.url, "ops/a", digest, data);
    await call(reg.url, "GET", `/v2/ops/a/blobs/${digest}`);
    await call(reg.url, "GET", `/v2/ops/a/blobs/${sha256("none")}`);
    const text = (await call(reg.url, "GET", "/metrics")).text;
    assert.match(text, /berth_registry_requests_total\{route="blob",method="GET",status="200"\} 1/);
    assert.match(text, /berth_registry_requests_total\{route="blob",method="GET",status="404"\} 1/);
    assert.match(text, /berth_registry_received_bytes_total\{route="upload-start"\} 1234/);
    assert.match(text, /berth_registry_sent_bytes_total\{route="blob"\} 1234/);
    assert.match(text, /berth_registry_request_duration_seconds_bucket/);
  });

  it("/healthz includes the outbox status", async () => {
    const res = await call(reg.url, "GET", "/healthz");
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { ok: true, outbox: { enabled: false, redisConnected: false, journalDepth: 0 } });
  });

  it("close() lets an upload in flight finish", async () => {
    const own = await startRegistry();
    const start = await call(own.url, "POST", "/v2/ops/slow/blobs/uploads/");
    const location = start.headers.get("location") ?? "";
    const data = randomBytes(64 * 1024);
    const { request } = await import("node:http");
    const { hostname, port } = new URL(own.url);
    let closing: Promise<void> | undefined;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ hostname, port, path: location, method: "PATCH", headers: { "Content-Length": data.length } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.write(data.subarray(0, 1024));
      // Once the server is handling the request, ask it to close, then send the rest.
      waitFor("the upload to be in flight", () => own.app.inFlight() > 0)
        .then(() => {
          closing = own.app.close(5000);
          req.end(data.subarray(1024));
        })
        .catch(reject);
    });
    assert.equal(status, 202);
    await closing;
    await own.stop();
  });

  it("pushes images concurrently with metrics on", async () => {
    await Promise.all(Array.from({ length: 4 }, (_, i) => pushImage(reg.url, "ops/many", `t${i}`, makeImage())));
    assert.equal(((await call(reg.url, "GET", "/v2/ops/many/tags/list")).json() as { tags: string[] }).tags.length, 4);
  });
});

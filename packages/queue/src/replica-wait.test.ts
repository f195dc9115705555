import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SHARED_REDIS_URL } from "@berth/testing";
import { adminConnection } from "./connections.js";
import { keySlot, waitForReplicas } from "./replica-wait.js";

describe("keySlot", () => {
  it("is what Redis computes: the whole key, or only its hash tag", () => {
    // Values from CLUSTER KEYSLOT (the Redis Cluster spec's CRC16 test vector is "123456789" → 0x31C3).
    assert.equal(keySlot("123456789"), 0x31c3);
    assert.equal(keySlot("foo"), 12182);
    assert.equal(keySlot("{berth}:sink.http.a:wait"), keySlot("berth"));
    // An empty tag does not count: the whole key is hashed.
    assert.notEqual(keySlot("{}foo"), keySlot("foo"));
  });
});

describe("waitForReplicas", () => {
  it("answers 0 within the timeout when the server has no replica", async () => {
    const conn = adminConnection(SHARED_REDIS_URL);
    try {
      assert.equal(await waitForReplicas(conn, "any", 1, 20), 0);
    } finally {
      conn.disconnect();
    }
  });
});

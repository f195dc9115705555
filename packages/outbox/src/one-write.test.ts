import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SHARED_REDIS_URL, uniqueName } from "@berth/testing";
import { Redis } from "ioredis";
import { inOneWrite } from "./one-write.js";

describe("inOneWrite", () => {
  let redis: Redis;
  const key = uniqueName("one-write");

  before(async () => {
    redis = new Redis(SHARED_REDIS_URL, { enableAutoPipelining: false });
    await redis.ping();
  });
  after(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it("sends every command issued inside, in order, and uncorks the socket afterwards", async () => {
    const writes: number[] = [];
    const socket = redis.stream;
    const original = socket._writev?.bind(socket);
    // Counts the batched writes the corked socket makes; the commands themselves must still arrive.
    socket._writev = (chunks, cb) => {
      writes.push(chunks.length);
      return original ? original(chunks, cb) : cb();
    };
    let replies: Promise<unknown>[] = [];
    try {
      inOneWrite(redis, () => {
        replies = [redis.rpush(key, "a"), redis.rpush(key, "b"), redis.lrange(key, 0, -1)];
      });
      assert.deepEqual(await Promise.all(replies), [1, 2, ["a", "b"]]);
    } finally {
      if (original) socket._writev = original;
    }
    assert.deepEqual(writes, [3], "three commands, one write");
    assert.equal(socket.writableCorked, 0);
    assert.equal(await redis.llen(key), 2, "the socket takes later commands as usual");
  });

  it("still issues the commands when the connection has no socket to cork", async () => {
    const offline = new Redis(SHARED_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    let rejected: Promise<unknown> | undefined;
    inOneWrite(offline, () => {
      rejected = offline.ping();
    });
    await assert.rejects(rejected ?? Promise.resolve(), /Stream isn't writeable|enableOfflineQueue/);
    offline.disconnect();
  });
});

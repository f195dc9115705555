import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SHARED_REDIS_URL, uniqueName } from "@berth/testing";
import type { Redis } from "ioredis";
import { adminConnection } from "./connections.js";
import { underRedisLock } from "./redis-lock.js";

describe("underRedisLock", () => {
  const key = uniqueName("redis-lock");
  let conn: Redis;
  before(() => {
    conn = adminConnection(SHARED_REDIS_URL);
  });
  after(async () => {
    await conn.del(key);
    await conn.quit();
  });

  it("runs holders one at a time, in turn, and frees the key after each", async () => {
    const order: string[] = [];
    const hold = (name: string) =>
      underRedisLock(conn, key, { ttlMs: 5_000, waitMs: 5_000 }, () => "busy", async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name} out`);
        return name;
      });
    assert.deepEqual(await Promise.all([hold("a"), hold("b")]), ["a", "b"]);
    assert.deepEqual(order, ["a in", "a out", "b in", "b out"]);
    assert.equal(await conn.exists(key), 0);
  });

  it("gives up with `busy` when the wait runs out, and takes over a lock whose holder died", async () => {
    await conn.set(key, "a dead process", "PX", 200);
    assert.equal(await underRedisLock(conn, key, { ttlMs: 5_000, waitMs: 0 }, () => "busy", async () => "ran"), "busy");
    assert.equal(await underRedisLock(conn, key, { ttlMs: 5_000, waitMs: 2_000 }, () => "busy", async () => "ran"), "ran");
  });

  it("never releases a lock another holder took after its own expired", async () => {
    await underRedisLock(conn, key, { ttlMs: 50, waitMs: 0 }, () => "busy", async () => {
      await new Promise((r) => setTimeout(r, 120));
      await conn.set(key, "the next holder", "PX", 5_000);
    });
    assert.equal(await conn.get(key), "the next holder");
    await conn.del(key);
  });
});

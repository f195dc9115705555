import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type OwnServer, startRedisServer, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { type RedisPersistence, assessPersistence, inspectRedisPersistence, watchRedisPersistence } from "./redis-persistence.js";

/** Records what the watch logs. */
function recordingLogger() {
  const lines: Array<{ level: "warn" | "debug"; obj: object; msg: string }> = [];
  return {
    lines,
    warn: (obj: object, msg: string) => void lines.push({ level: "warn", obj, msg }),
    debug: (obj: object, msg: string) => void lines.push({ level: "debug", obj, msg }),
  };
}

describe("Redis persistence settings, read from a redis-server this test starts", () => {
  const servers: OwnServer[] = [];
  const clients: Redis[] = [];
  after(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.destroy();
  });

  async function connect(options: Parameters<typeof startRedisServer>[0]): Promise<Redis> {
    const server = await startRedisServer(options);
    servers.push(server);
    const redis = new Redis(server.url, { lazyConnect: true });
    clients.push(redis);
    await redis.connect();
    return redis;
  }

  /** Watches until the first reading, then reconnects once: the settings are read again. */
  async function watchTwice(redis: Redis) {
    const logger = recordingLogger();
    const watch = watchRedisPersistence(redis, logger);
    await waitFor("the first reading", () => watch.current() !== undefined);
    const first = watch.current() as RedisPersistence;
    redis.disconnect(true);
    await waitFor("the reading after the reconnect", () => watch.current() !== first);
    watch.stop();
    return { reading: watch.current() as RedisPersistence, lines: logger.lines };
  }

  it("no AOF: events are lost on a Redis crash; one warning naming appendonly, even after a reconnect", async () => {
    const { reading, lines } = await watchTwice(await connect({ appendonly: false }));
    assert.equal(reading.durability, "lost-on-crash");
    assert.equal(reading.appendonly, "no");
    const warnings = lines.filter((l) => l.level === "warn");
    assert.equal(warnings.length, 1, JSON.stringify(lines));
    assert.match(warnings[0]!.msg, /appendonly yes/);
    assert.match(warnings[0]!.msg, /appendfsync always/);
  });

  it("appendonly yes + appendfsync always: durable, nothing logged", async () => {
    const { reading, lines } = await watchTwice(await connect({ appendonly: true, appendfsync: "always" }));
    assert.equal(reading.durability, "durable");
    assert.equal(reading.warning, undefined);
    assert.deepEqual(lines, []);
  });

  it("appendfsync everysec without a replica: up to a second lost on a power loss; the fix is named", async () => {
    const reading = await inspectRedisPersistence(await connect({ appendonly: true, appendfsync: "everysec" }));
    assert.equal(reading.durability, "lost-on-power-loss");
    assert.equal(reading.replicas, 0);
    assert.match(reading.warning ?? "", /power loss .* up to the last second .* appendfsync always/);
    // With a replica the same settings lose only what no replica received yet: no warning.
    const replicated = assessPersistence({ aof: true, appendfsync: "everysec", replicas: 1 });
    assert.equal(replicated.durability, "replicated");
    assert.equal(replicated.warning, undefined);
  });

  it("a Redis that refuses CONFIG (as managed services do) is read through INFO, without noise", async () => {
    const redis = await connect({ appendonly: true, appendfsync: "everysec", extraArgs: ["--rename-command", "CONFIG", ""] });
    await assert.rejects(redis.config("GET", "appendonly"), /unknown command/i);
    const { reading, lines } = await watchTwice(redis);
    assert.equal(reading.durability, "unknown");
    assert.equal(reading.appendonly, "yes");
    assert.deepEqual(lines, []);
  });
});

import type { Redis } from "ioredis";

/** Every key under a BullMQ prefix (clean-up is @berth/testing's deleteKeysByPrefix). */
export async function keysWithPrefix(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  for (let round = 0; round < 10_000; round++) {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    keys.push(...batch);
    cursor = next;
    if (cursor === "0") break;
  }
  return keys;
}

/** Every string stored under the prefix (hash fields, list/set/zset members, strings, streams). */
export async function dumpValues(redis: Redis, prefix: string): Promise<string> {
  const parts: string[] = [];
  for (const key of await keysWithPrefix(redis, prefix)) {
    const type = await redis.type(key);
    if (type === "hash") parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === "list") parts.push(...(await redis.lrange(key, 0, -1)));
    else if (type === "set") parts.push(...(await redis.smembers(key)));
    else if (type === "zset") parts.push(...(await redis.zrange(key, "0", "-1")));
    else if (type === "string") parts.push((await redis.get(key)) ?? "");
    else if (type === "stream") parts.push(JSON.stringify(await redis.xrange(key, "-", "+")));
  }
  return parts.join("\n");
}

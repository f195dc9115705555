/** Cleanup by key prefix: every run of the bench uses its own BullMQ prefix and deletes it after. */
import { Redis } from "ioredis";

export async function deleteKeysByPrefix(redisUrl: string, prefix: string): Promise<number> {
  if (!prefix || prefix.includes("*")) throw new Error(`refusing to delete keys by prefix "${prefix}"`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return deleted;
}

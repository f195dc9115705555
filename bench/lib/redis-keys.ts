/** Cleanup by key prefix: every run of the bench uses its own BullMQ prefix and deletes it after. */
import { deleteKeysByPrefix as deleteOnConnection } from "@berth/testing";
import { Redis } from "ioredis";

export async function deleteKeysByPrefix(redisUrl: string, prefix: string): Promise<void> {
  if (!prefix || prefix.includes("*")) throw new Error(`refusing to delete keys by prefix "${prefix}"`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    await deleteOnConnection(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

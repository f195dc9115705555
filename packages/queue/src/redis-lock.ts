/**
 * A short-lived lock in Redis: SET NX PX with a random token, released only by its owner. It
 * expires, so a process killed while holding it blocks the others for at most `ttlMs`.
 */
import { randomUUID } from "node:crypto";
import type { RedisConnection } from "./connections.js";

const RETRY_MS = 20;
const RELEASE_IF_OWNER = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`;

/** Runs `fn` holding `key`; waits up to `waitMs` for it, else returns what `busy` gives. */
export async function underRedisLock<T, B>(
  conn: RedisConnection,
  key: string,
  o: { ttlMs: number; waitMs: number },
  busy: () => B,
  fn: () => Promise<T>,
): Promise<T | B> {
  const token = randomUUID();
  const deadline = Date.now() + o.waitMs;
  while ((await conn.set(key, token, "PX", o.ttlMs, "NX")) !== "OK") {
    if (Date.now() >= deadline) return busy();
    await new Promise((r) => setTimeout(r, RETRY_MS));
  }
  try {
    return await fn();
  } finally {
    await conn.eval(RELEASE_IF_OWNER, 1, key, token).catch(() => {});
  }
}

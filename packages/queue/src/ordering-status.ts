/**
 * What an ordered sink is holding back, for `berth sink status` and the dashboard: repositories
 * whose later events wait behind an undelivered one (the head of its pending set), and the heads
 * themselves with their attempt count, worst first. Reads every pending set of the sink (SCAN),
 * so it is an operator's command, not a per-scrape metric.
 */

import type { RedisConnection } from "./connections.js";
import { orderPendingPrefix } from "./ordering-keys.js";

export interface HeldRepository {
  repository: string;
  /** The undelivered event every later one of the repository waits for. */
  headSequence: number;
  headJobId: string;
  /** Failed attempts of the head so far (0: not tried yet, or in flight). */
  headAttempts: number;
  /** Events of the repository waiting behind the head. */
  waitingBehind: number;
}

export interface OrderingStatus {
  ordering: "repository";
  /** Repositories with at least one undelivered event. */
  repositories: number;
  /** Repositories with events waiting behind an undelivered one. */
  held: number;
  /** The held repositories, most failed attempts first (at most `limit`). */
  heads: HeldRepository[];
}

const GLOB_SPECIAL = /[*?[\]\\]/g;

export async function getOrderingStatus(conn: RedisConnection, prefix: string, queueName: string, limit = 10): Promise<OrderingStatus> {
  const keyPrefix = orderPendingPrefix(prefix, queueName);
  const match = `${keyPrefix.replace(GLOB_SPECIAL, "\\$&")}*`;
  const held: HeldRepository[] = [];
  let repositories = 0;
  let cursor = "0";
  do {
    const [next, keys] = await conn.scan(cursor, "MATCH", match, "COUNT", 1_000);
    cursor = next;
    for (const key of keys) {
      const [count, head] = await Promise.all([conn.zcard(key), conn.zrange(key, "0", "0", "WITHSCORES")]);
      if (count === 0 || head.length < 2) continue;
      repositories++;
      if (count < 2) continue;
      const headJobId = head[0]!;
      const attempts = await conn.hget(`${prefix}:${queueName}:${headJobId}`, "atm");
      held.push({
        repository: key.slice(keyPrefix.length),
        headSequence: Number(head[1]),
        headJobId,
        headAttempts: Number(attempts ?? 0),
        waitingBehind: count - 1,
      });
    }
  } while (cursor !== "0");
  held.sort((a, b) => b.headAttempts - a.headAttempts || b.waitingBehind - a.waitingBehind);
  return { ordering: "repository", repositories, held: held.length, heads: held.slice(0, limit) };
}

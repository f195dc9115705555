import type { RedisTopology } from "@berth/config";
import { producerConnection, type RedisConnection } from "@berth/queue";
import type { Logger } from "@berth/telemetry";

export interface ProducerConnectionOptions {
  /** Bound of one command round trip; a slower answer counts as Redis being away. */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  logger: Logger;
  onReady(): void;
  onDown(): void;
}

/**
 * The registry's producer connection (made by @berth/queue: fails fast, no offline queue) with
 * its state changes logged and reported. A push must never hang on Redis; when this connection
 * is not ready the outbox writes its local journal.
 */
export function createProducerConnection(redisTarget: RedisTopology | string, options: ProducerConnectionOptions): RedisConnection {
  const redis = producerConnection(redisTarget, options);
  let up = false;
  redis.on("ready", () => {
    up = true;
    options.logger.info("outbox: Redis connection ready");
    options.onReady();
  });
  // A Cluster emits "close" once all its node connections are gone; a single server on each loss.
  redis.on("close", () => {
    if (up) options.logger.warn("outbox: Redis connection lost; events go to the local journal");
    up = false;
    options.onDown();
  });
  // ioredis emits an error per failed reconnect; the state change above is what matters.
  redis.on("error", (err: Error) => {
    options.logger.debug({ err: { name: err.name, code: (err as { code?: string }).code } }, "outbox: Redis error");
  });
  return redis;
}

export function isReady(redis: RedisConnection): boolean {
  return redis.status === "ready";
}

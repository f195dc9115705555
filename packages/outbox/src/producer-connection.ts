import type { Logger } from "@berth/telemetry";
import { Redis } from "ioredis";

export interface ProducerConnectionOptions {
  /** Bound of one command round trip; a slower answer counts as Redis being away. */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  logger: Logger;
  onReady(): void;
  onDown(): void;
}

/** Reconnect in the background forever, with a capped backoff. */
function reconnectDelay(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 5), 2_000);
}

/**
 * The registry's producer connection fails fast (bullmq "going to production": producers should
 * not wait for Redis): no offline queue, one retry at most, a short command timeout. A push must
 * never hang on Redis; when this connection is not ready the outbox writes its local journal.
 */
export function createProducerConnection(url: string, options: ProducerConnectionOptions): Redis {
  const redis = new Redis(url, {
    connectionName: "berth-outbox-producer",
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    enableReadyCheck: true,
    // No auto-pipelining: measured here, ioredis's pipeline machinery costs ~130 µs of CPU per
    // publish when publishes rarely overlap (the registry's normal case), more than the write it
    // saves. A publish's adds leave in one write anyway: the enqueuer sends all of them, for every
    // queue and every publish gathered meanwhile, as one add-jobs script call (enqueue.ts).
    enableAutoPipelining: false,
    retryStrategy: reconnectDelay,
  });
  let up = false;
  redis.on("ready", () => {
    up = true;
    options.logger.info("outbox: Redis connection ready");
    options.onReady();
  });
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

export function isReady(redis: Redis): boolean {
  return redis.status === "ready";
}

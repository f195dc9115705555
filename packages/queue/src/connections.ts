/**
 * The two kinds of Redis connection Berth opens. Consumers (delivery workers) must survive a
 * Redis outage and carry on afterwards, so their commands wait forever; admin tools (CLI,
 * dashboard, status probes) must answer an operator quickly, so their commands fail fast.
 * (bullmq "going to production": workers need `maxRetriesPerRequest: null`.)
 */
import { Redis } from "ioredis";

/** Reconnect with a capped backoff, forever: a long-lived process should outlive an outage. */
function reconnectDelay(times: number): number {
  return Math.min(250 * 2 ** Math.min(times, 5), 5_000);
}

/** For BullMQ Workers: commands queue up while Redis is away and run when it is back. */
export function consumerConnection(url: string, name = "berth-consumer"): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: reconnectDelay,
  });
}

/** For operator-facing reads and writes: a command fails after one reconnect attempt. */
export function adminConnection(url: string, name = "berth-admin"): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: reconnectDelay,
  });
}

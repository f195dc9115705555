/**
 * Every Redis connection Berth opens is made here, from the configured topology (one server, a
 * Sentinel-watched master, or a Cluster), in one of three roles:
 *
 * - consumer (delivery workers, the dashboard's dead-letter parker): must survive an outage and
 *   carry on afterwards, so commands wait forever (bullmq "going to production": workers need
 *   `maxRetriesPerRequest: null`);
 * - admin (CLI, dashboard, status probes): must answer an operator quickly, so commands fail fast;
 * - producer (the registry's outbox): must never hold up a push, so there is no offline queue,
 *   one retry at most and a short command timeout; when it is not ready the outbox journals.
 */
import type { RedisTopology } from "@berth/config";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

/** What BullMQ and Berth's own commands run on: one server (direct or via Sentinel) or a Cluster. */
export type RedisConnection = Redis | Cluster;

/** A topology, or a plain URL for one server (tests and tools that own their redis-server). */
export type RedisTarget = RedisTopology | string;

/** Reconnect with a capped backoff, forever: a long-lived process should outlive an outage. */
function reconnectDelay(times: number): number {
  return Math.min(250 * 2 ** Math.min(times, 5), 5_000);
}

function topologyOf(target: RedisTarget): RedisTopology {
  return typeof target === "string" ? { kind: "standalone", url: target } : target;
}

/**
 * One connection to `target` with `options` applied to every server connection. On a Cluster,
 * the per-node options go into `redisOptions`; `enableOfflineQueue` and the retry strategy are
 * the Cluster's own (a node's connection is replaced, not retried, after a failover).
 */
export function openRedis(target: RedisTarget, options: RedisOptions): RedisConnection {
  const topology = topologyOf(target);
  switch (topology.kind) {
    case "standalone":
      return new Redis(topology.url, options);
    case "sentinel":
      return new Redis({
        ...options,
        sentinels: topology.sentinels,
        name: topology.name,
        db: topology.db,
        ...(topology.username === undefined ? {} : { username: topology.username }),
        ...(topology.password === undefined ? {} : { password: topology.password }),
        ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
        // A write must reach the master: a stale sentinel answer is retried, not followed.
        role: "master",
      });
    case "cluster": {
      const { enableOfflineQueue, retryStrategy, enableReadyCheck, ...perNode } = options;
      const clusterOptions: ClusterOptions = {
        redisOptions: {
          ...perNode,
          ...(topology.username === undefined ? {} : { username: topology.username }),
          ...(topology.password === undefined ? {} : { password: topology.password }),
        },
        ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
        ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
        clusterRetryStrategy: (times) => (retryStrategy ? (retryStrategy(times) ?? null) : reconnectDelay(times)),
        // After a master dies its slots answer CLUSTERDOWN until a replica is promoted (about
        // cluster-node-timeout); retry in the meantime rather than fail the command at once.
        retryDelayOnClusterDown: 200,
        retryDelayOnFailover: 200,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: 2_000,
      };
      return new Cluster(topology.nodes, clusterOptions);
    }
  }
}

/** For BullMQ Workers: commands queue up while Redis is away and run when it is back. */
export function consumerConnection(target: string, name?: string): Redis;
export function consumerConnection(target: RedisTarget, name?: string): RedisConnection;
export function consumerConnection(target: RedisTarget, name = "berth-consumer"): RedisConnection {
  return openRedis(target, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: reconnectDelay,
  });
}

/** For operator-facing reads and writes: a command fails after one reconnect attempt. */
export function adminConnection(target: string, name?: string): Redis;
export function adminConnection(target: RedisTarget, name?: string): RedisConnection;
export function adminConnection(target: RedisTarget, name = "berth-admin"): RedisConnection {
  return openRedis(target, {
    connectionName: name,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: reconnectDelay,
  });
}

export interface ProducerOptions {
  /** Bound of one command round trip; a slower answer counts as Redis being away. */
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

/** The registry's outbox connection: fails fast, reconnects in the background with a short cap. */
export function producerConnection(target: RedisTarget, options: ProducerOptions): RedisConnection {
  return openRedis(target, {
    connectionName: "berth-outbox-producer",
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    enableReadyCheck: true,
    // No auto-pipelining: measured here, ioredis's pipeline machinery costs ~130 µs of CPU per
    // publish when publishes rarely overlap (the registry's normal case), more than the write it
    // saves. The outbox sends one script call per group of publishes instead.
    enableAutoPipelining: false,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  });
}

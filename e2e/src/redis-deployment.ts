/**
 * The Redis deployment a suite runs on, chosen by env (`BERTH_E2E_REDIS` / `BERTH_CHAOS_REDIS`):
 * one server of the test's own (default), a Sentinel set or a Cluster, each started by the test on
 * free loopback ports and stopped by PID; plus `queue.redis` as the config file spells it.
 */
import type { RedisTopology } from "@berth/config";
import { type OwnServer, startRedisCluster, startRedisSentinel, startRedisServer } from "@berth/testing";

export type RedisDeploymentKind = "server" | "sentinel" | "cluster";

/** `queue.redis` in the config file's form for `topology`. */
export function redisConfigOf(topology: RedisTopology): string | Record<string, unknown> {
  switch (topology.kind) {
    case "standalone":
      return topology.url;
    case "sentinel":
      return { sentinels: topology.sentinels.map((n) => `${n.host}:${n.port}`), name: topology.name };
    case "cluster":
      return { cluster: topology.nodes.map((n) => `${n.host}:${n.port}`) };
  }
}

/** The deployment named by `value` (an env var); unknown names are refused with the allowed ones. */
export function redisDeploymentKind(variable: string, value: string | undefined): RedisDeploymentKind {
  const kind = value || "server";
  if (kind === "server" || kind === "sentinel" || kind === "cluster") return kind;
  throw new Error(`${variable}=${kind}: allowed values are server (default), sentinel, cluster`);
}

export interface RedisDeployment {
  kind: RedisDeploymentKind;
  topology: RedisTopology;
  /** `queue.redis` for the config file. */
  config: string | Record<string, unknown>;
  destroy(): Promise<void>;
}

/** Starts the deployment: a server with AOF, a master + replica + 3 sentinels, or 3 × 2 Cluster. */
export async function startRedisDeployment(kind: RedisDeploymentKind): Promise<RedisDeployment> {
  const started: { topology(): RedisTopology; destroy(): Promise<void> } =
    kind === "sentinel"
      ? await startRedisSentinel({ replicas: 1 })
      : kind === "cluster"
        ? await startRedisCluster()
        : serverDeployment(await startRedisServer({ appendonly: true }));
  const topology = started.topology();
  return { kind, topology, config: redisConfigOf(topology), destroy: () => started.destroy() };
}

function serverDeployment(server: OwnServer): { topology(): RedisTopology; destroy(): Promise<void> } {
  return { topology: () => ({ kind: "standalone", url: server.url }), destroy: () => server.destroy() };
}

/**
 * Redis deployments a test owns: a Cluster (masters with one replica each) and a Sentinel set
 * (a master, its replicas and three sentinels), every process on a free loopback port, stopped by
 * PID. Failover timings are short (node timeout / down-after 1 s) so a test's SIGKILL is noticed
 * quickly.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RedisTopology } from "@berth/config";
import { Redis } from "ioredis";
import { type OwnServer, ownServer, startRedisServer } from "./servers.js";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * A free port whose cluster bus port (port + 10000) is free too, so below 55536. Random rather
 * than sequential: several test files may look for ports at once.
 */
export async function freeClusterPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if ((await canBind(port)) && (await canBind(port + 10_000))) return port;
  }
  throw new Error("no free port pair (port, port+10000) below 55536");
}

async function info(port: number, section: string): Promise<string> {
  const redis = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
  redis.on("error", () => {}); // a stopped node: connect() rejects, which is the answer
  try {
    await redis.connect();
    return await redis.info(section);
  } finally {
    redis.disconnect();
  }
}

function field(text: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, "m").exec(text)?.[1]?.trim();
}

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", args, { timeout: 30_000 });
  return stdout;
}

export interface OwnRedisCluster {
  readonly nodes: OwnServer[];
  topology(): RedisTopology;
  /** The node serving `key`'s hash slot as a master right now. */
  masterFor(key: string): Promise<OwnServer>;
  /** Waits until every slot is served by a master that answers (after a failover). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/** `masters` masters with one replica each (`redis-cli --cluster create … --cluster-replicas 1`). */
export async function startRedisCluster(options: { masters?: number; nodeTimeoutMs?: number } = {}): Promise<OwnRedisCluster> {
  const masters = options.masters ?? 3;
  const nodes: OwnServer[] = [];
  try {
    for (let i = 0; i < masters * 2; i++) {
      nodes.push(
        await ownServer(
          "redis-cluster",
          "redis-server",
          (port, dir) => [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
            "--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"),
            "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 1_000),
            // A replica promoted after its master's death must not wait for a fresh sync first.
            "--cluster-replica-validity-factor", "0",
          ],
          "redis",
          freeClusterPort,
        ),
      );
    }
    await cli("--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "1", "--cluster-yes");
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.destroy()));
    throw err;
  }
  const cluster: OwnRedisCluster = {
    nodes,
    topology: () => ({ kind: "cluster", nodes: nodes.map((n) => ({ host: "127.0.0.1", port: n.port })) }),
    async masterFor(key) {
      const [first] = await liveNodes(nodes);
      if (!first) throw new Error("no cluster node answers");
      const slot = Number((await cli("-p", String(first.port), "cluster", "keyslot", key)).trim());
      const lines = (await cli("-p", String(first.port), "cluster", "nodes")).split("\n");
      const line = lines.find((l) => {
        const flags = l.split(" ")[2] ?? "";
        return flags.includes("master") && !flags.includes("fail") && servesSlot(l, slot);
      });
      const port = Number(/:(\d+)@/.exec(line ?? "")?.[1]);
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no master serves slot ${slot}`);
      return node;
    },
    async waitHealthy(timeoutMs = 30_000) {
      await waitFor(
        "every cluster node to report cluster_state:ok and every replica to be in sync",
        async () => {
          const live = await liveNodes(nodes);
          const states = await Promise.all(live.map((n) => cli("-p", String(n.port), "cluster", "info")));
          if (!states.every((s) => field(s, "cluster_state") === "ok")) return false;
          const replication = await Promise.all(live.map((n) => info(n.port, "replication")));
          return replication.every((r) => field(r, "role") === "master" || field(r, "master_link_status") === "up");
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async destroy() {
      await Promise.allSettled(nodes.map((n) => n.destroy()));
    },
  };
  await cluster.waitHealthy();
  return cluster;
}

async function liveNodes(nodes: OwnServer[]): Promise<OwnServer[]> {
  const live: OwnServer[] = [];
  for (const n of nodes) if (await info(n.port, "server").then(() => true, () => false)) live.push(n);
  return live;
}

/** A `CLUSTER NODES` line's slot ranges ("0-5460 5461") include `slot`. */
function servesSlot(line: string, slot: number): boolean {
  return line
    .split(" ")
    .slice(8)
    .some((range) => {
      const [from, to] = range.split("-").map(Number);
      return from !== undefined && slot >= from && slot <= (to ?? from);
    });
}

export interface OwnRedisSentinel {
  readonly name: string;
  /** Data nodes: index 0 started as the master. */
  readonly nodes: OwnServer[];
  readonly sentinels: OwnServer[];
  topology(): RedisTopology;
  /** The data node the sentinels name as master right now. */
  master(): Promise<OwnServer>;
  /** Waits until the sentinels name a master other than `old` and it answers as master. */
  waitFailover(old: OwnServer, timeoutMs?: number): Promise<OwnServer>;
  /** Waits until `node` is a connected replica with its link up. */
  waitReplica(node: OwnServer, timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/** A master, `replicas` replicas and three sentinels (quorum 2) watching them as `name`. */
export async function startRedisSentinel(options: { replicas?: number; name?: string; downAfterMs?: number } = {}): Promise<OwnRedisSentinel> {
  const name = options.name ?? "berthmaster";
  const nodes: OwnServer[] = [];
  const sentinels: OwnServer[] = [];
  // Sentinel rewrites its config file; a replica reconnected by Sentinel keeps its own flags.
  const dataArgs = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"];
  try {
    const master = await startRedisServer({ extraArgs: dataArgs });
    nodes.push(master);
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      nodes.push(await startRedisServer({ replicaOf: master.port, extraArgs: dataArgs }));
    }
    for (let i = 0; i < 3; i++) {
      sentinels.push(
        await ownServer(
          "redis-sentinel",
          "redis-server",
          (port, dir) => {
            const file = join(dir, "sentinel.conf");
            writeFileSync(
              file,
              [
                `port ${port}`,
                "bind 127.0.0.1",
                `dir ${dir}`,
                `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
                `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
                `sentinel failover-timeout ${name} 10000`,
                `sentinel parallel-syncs ${name} 1`,
                "",
              ].join("\n"),
            );
            return [file, "--sentinel"];
          },
          "redis",
        ),
      );
    }
  } catch (err) {
    await Promise.allSettled([...nodes, ...sentinels].map((n) => n.destroy()));
    throw err;
  }

  async function masterPort(): Promise<number | undefined> {
    for (const s of sentinels) {
      const out = await cli("-p", String(s.port), "sentinel", "get-master-addr-by-name", name).catch(() => "");
      const port = Number(out.trim().split("\n")[1]);
      if (Number.isInteger(port) && port > 0) return port;
    }
    return undefined;
  }

  const set: OwnRedisSentinel = {
    name,
    nodes,
    sentinels,
    topology: () => ({
      kind: "sentinel",
      name,
      sentinels: sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })),
      db: 0,
    }),
    async master() {
      const port = await masterPort();
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`the sentinels name no known master (got port ${port})`);
      return node;
    },
    async waitFailover(old, timeoutMs = 30_000) {
      return waitFor(
        "the sentinels to promote a replica",
        async () => {
          const port = await masterPort();
          const node = nodes.find((n) => n.port === port && n !== old);
          if (!node) return undefined;
          return field(await info(node.port, "replication"), "role") === "master" ? node : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async waitReplica(node, timeoutMs = 30_000) {
      await waitFor(
        `port ${node.port} to replicate the master`,
        async () => {
          const text = await info(node.port, "replication");
          return field(text, "role") === "slave" && field(text, "master_link_status") === "up";
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    async destroy() {
      await Promise.allSettled([...sentinels, ...nodes].map((n) => n.destroy()));
    },
  };
  for (const replica of nodes.slice(1)) await set.waitReplica(replica);
  // The sentinels must have discovered the replica (via the master's INFO) before a failover.
  await waitFor(
    "the sentinels to know the replicas",
    async () => {
      const out = await cli("-p", String(sentinels[0]!.port), "sentinel", "replicas", name).catch(() => "");
      return nodes.slice(1).every((r) => out.includes(String(r.port)));
    },
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  return set;
}

/**
 * Three (or more) nats-server with routes and JetStream, each on free loopback ports, stopped by
 * PID: a NATS cluster a test can take nodes out of. Clients learn the other nodes from the
 * cluster's INFO, so a client given one node's URL reconnects to another when it dies.
 */
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { type OwnServer, ownServer } from "./servers.js";

export interface OwnNatsCluster {
  readonly nodes: OwnServer[];
  /** Every node's client URL, comma-separated (a sink `address`). */
  readonly urls: string;
  destroy(): Promise<void>;
}

export async function startNatsCluster(options: { size?: number; name?: string } = {}): Promise<OwnNatsCluster> {
  const size = options.size ?? 3;
  const name = options.name ?? "berth-test";
  // Route ports first: every node's --routes names all the others.
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const nodes: OwnServer[] = [];
  try {
    const started = routePorts.map((routePort, i) =>
      ownServer(
        "nats-cluster",
        "nats-server",
        (port, dir) => [
          "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dir, "js"),
          "--server_name", `${name}-${i}`, "--cluster_name", name,
          "--cluster", `nats://127.0.0.1:${routePort}`,
          "--routes", routePorts.filter((p) => p !== routePort).map((p) => `nats://127.0.0.1:${p}`).join(","),
        ],
        "nats",
      ),
    );
    for (const result of await Promise.allSettled(started)) {
      if (result.status === "fulfilled") nodes.push(result.value);
    }
    const failed = (await Promise.allSettled(started)).find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.destroy()));
    throw err;
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    async destroy() {
      await Promise.allSettled(nodes.map((n) => n.destroy()));
    },
  };
}

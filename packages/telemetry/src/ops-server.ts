import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

export interface OpsServerOptions {
  address: string;
  port: number;
  metrics: Registry;
  health: () => Health | Promise<Health>;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** `/metrics` (Prometheus text) and `/healthz` (JSON; 503 when not ok) for worker processes. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer(async (req, res) => {
    try {
      if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": options.metrics.contentType });
        res.end(await options.metrics.metrics());
      } else if (req.url === "/healthz") {
        const health = await options.health();
        res.writeHead(health.ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify(health));
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.address, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

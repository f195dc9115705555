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
  /** When `port` is taken, listen on any free port instead of failing (see `OpsServer.fellBack`). */
  fallbackToFreePort?: boolean;
}

export interface OpsServer {
  readonly port: number;
  /** `port` was taken and the server listens on a free one instead. */
  readonly fellBack: boolean;
  close(): Promise<void>;
}

/** The ops port is taken (another worker on this host?) and no fallback was allowed. */
export class OpsPortInUseError extends Error {
  override readonly name = "OpsPortInUseError";
  constructor(
    readonly address: string,
    readonly port: number,
  ) {
    super(`ops port ${address}:${port} is already in use`);
  }
}

function listenOn(server: Server, port: number, address: string): Promise<"listening" | "in-use"> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" ? resolve("in-use") : reject(err));
    server.once("error", onError);
    server.listen(port, address, () => {
      server.off("error", onError);
      resolve("listening");
    });
  });
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
  let fellBack = false;
  if ((await listenOn(server, options.port, options.address)) === "in-use") {
    if (!options.fallbackToFreePort || options.port === 0) throw new OpsPortInUseError(options.address, options.port);
    await listenOn(server, 0, options.address);
    fellBack = true;
  }
  const { port } = server.address() as AddressInfo;
  return {
    port,
    fellBack,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

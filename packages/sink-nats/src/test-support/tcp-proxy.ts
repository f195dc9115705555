import { createServer, connect as netConnect, type Socket } from "node:net";

/**
 * A TCP proxy in front of a real nats-server, so a test can make the destination misbehave
 * without touching the server: `refuse` cuts every connection and refuses new ones, `hang` holds
 * the client's bytes (the server never sees the request), `slow` delays them.
 */
export type ProxyMode = "pass" | "refuse" | "hang" | "slow";

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Client connections accepted so far (refused ones included). */
  readonly accepted: number;
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

interface Pipe {
  to: Socket;
  queue: { chunk: Buffer; readyAt: number }[];
  timer: NodeJS.Timeout | undefined;
}

export async function startTcpProxy(upstreamPort: number, { slowMs = 300 } = {}): Promise<TcpProxy> {
  let mode: ProxyMode = "pass";
  const sockets = new Set<Socket>();
  const pipes = new Set<Pipe>();

  // Bytes leave in arrival order; in `hang` they wait, in `slow` each waits slowMs.
  const pump = (pipe: Pipe) => {
    clearTimeout(pipe.timer);
    pipe.timer = undefined;
    while (pipe.queue.length > 0 && mode !== "hang") {
      const head = pipe.queue[0]!;
      const wait = head.readyAt - Date.now();
      if (wait > 0) {
        pipe.timer = setTimeout(() => pump(pipe), wait);
        return;
      }
      pipe.queue.shift();
      if (!pipe.to.destroyed) pipe.to.write(head.chunk);
    }
  };
  const forward = (from: Socket, to: Socket, delayed: boolean) => {
    const pipe: Pipe = { to, queue: [], timer: undefined };
    pipes.add(pipe);
    from.on("data", (chunk: Buffer) => {
      pipe.queue.push({ chunk, readyAt: Date.now() + (delayed && mode === "slow" ? slowMs : 0) });
      pump(pipe);
    });
    from.once("close", () => {
      clearTimeout(pipe.timer);
      pipes.delete(pipe);
    });
  };

  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    client.on("error", () => {});
    if (mode === "refuse") {
      client.destroy();
      return;
    }
    const upstream = netConnect(upstreamPort, "127.0.0.1");
    upstream.on("error", () => {});
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    forward(client, upstream, true);
    forward(upstream, client, false);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    setMode(next) {
      mode = next;
      if (next === "refuse") for (const s of sockets) s.destroy();
      for (const pipe of pipes) pump(pipe);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

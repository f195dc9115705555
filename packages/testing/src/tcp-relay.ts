/**
 * A TCP relay on a free loopback port, standing for the network between two processes:
 * - `delayMs` holds every chunk that long (a function: drawn per chunk) in each direction, in
 *   order — a chunk never overtakes the one before it, as on one TCP connection;
 * - `cut()` drops every connection with whatever it still held (a machine or link gone: bytes
 *   not delivered yet are lost, unlike a killed process whose kernel still delivers them);
 * - `retarget(port)` sends later connections elsewhere (a virtual IP moved to another server).
 */
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from "node:net";

export interface TcpRelay {
  readonly port: number;
  retarget(upstreamPort: number): void;
  cut(): void;
  close(): Promise<void>;
}

/** Writes `from`'s chunks to `to` after their delay, in arrival order. */
function delayedPipe(from: Socket, to: Socket, delayMs: () => number): () => void {
  const queue: Array<{ at: number; chunk: Buffer }> = [];
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.at <= now) to.write(queue.shift()!.chunk);
    if (queue.length > 0) timer = setTimeout(flush, queue[0]!.at - now);
  };
  from.on("data", (chunk: Buffer) => {
    last = Math.max(last, Date.now() + delayMs());
    queue.push({ at: last, chunk });
    if (!timer) timer = setTimeout(flush, Math.max(0, last - Date.now()));
  });
  return () => {
    clearTimeout(timer);
    queue.length = 0;
  };
}

export async function startTcpRelay(upstreamPort: number, options: { delayMs?: () => number } = {}): Promise<TcpRelay> {
  const delayMs = options.delayMs ?? (() => 0);
  let upstream = upstreamPort;
  const links = new Set<{ sockets: Socket[]; drop: Array<() => void> }>();
  const server = createServer((client) => {
    const server_ = tcpConnect({ host: "127.0.0.1", port: upstream });
    const link = { sockets: [client, server_], drop: [delayedPipe(client, server_, delayMs), delayedPipe(server_, client, delayMs)] };
    links.add(link);
    for (const s of link.sockets) {
      s.setNoDelay(true);
      // One side gone: the other goes too, as a reset.
      s.on("error", () => {});
      s.on("close", () => {
        links.delete(link);
        for (const drop of link.drop) drop();
        for (const other of link.sockets) other.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const cut = () => {
    for (const link of links) {
      for (const drop of link.drop) drop();
      for (const s of link.sockets) s.destroy();
    }
    links.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    retarget(port) {
      upstream = port;
    },
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP proxy that adds network latency: every chunk is held for a uniform random delay in
 * [min, max] ms in each direction before it is passed on, in order (a chunk never overtakes the one
 * before it). Put in front of a loopback NATS server it stands for a server in another zone: a
 * JetStream publish then waits a real round trip for its ack, as it would over a network, instead
 * of the ~0.1 ms of loopback. Because a chunk waits for the one before it, a busy connection's
 * delay drifts toward `max` (measured: one worker-nats process at 4 in flight, 10–25 ms each way,
 * completes ~80 publishes/s, i.e. ~50 ms a publish).
 */
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from "node:net";

export interface LatencyProxy {
  /** `host:port` of the proxy. */
  address: string;
  close(): Promise<void>;
}

/** Writes chunks to `to` after their delay, in arrival order. */
function delayedPipe(from: Socket, to: Socket, [min, max]: readonly [number, number]): void {
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
    // Monotonic release times keep the byte stream in order, as TCP would.
    last = Math.max(last, Date.now() + min + Math.random() * (max - min));
    queue.push({ at: last, chunk });
    if (!timer) timer = setTimeout(flush, last - Date.now());
  });
  from.on("end", () => {
    const endAt = last - Date.now();
    setTimeout(() => to.end(), Math.max(0, endAt) + 1);
  });
}

/** Listens on a free loopback port and forwards each connection to `upstream` (host:port). */
export async function startLatencyProxy(upstream: string, oneWayMs: readonly [number, number]): Promise<LatencyProxy> {
  const [host, port] = upstream.replace(/^[a-z]+:\/\//, "").split(":");
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const server_ = tcpConnect({ host: host!, port: Number(port) });
    for (const s of [client, server_]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on("close", () => sockets.delete(s));
      // One side gone: the other goes too (a reset is how a dropped link looks).
      s.on("error", () => {
        client.destroy();
        server_.destroy();
      });
    }
    delayedPipe(client, server_, oneWayMs);
    delayedPipe(server_, client, oneWayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

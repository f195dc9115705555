import { connect, type Socket } from "node:net";

/** A raw TCP connection for requests a well-behaved client never sends (partial, stalled). */
export interface RawConnection {
  socket: Socket;
  /** Everything the server sent so far, as latin1 text. */
  received(): string;
  /** Resolves when the server (or anything) closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
}

/** Connects and writes `head` (and optional body bytes) without ending; `read: false` never reads. */
export function openRaw(url: string, head: string, options: { body?: Buffer; read?: boolean } = {}): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let closed = false;
    const closedPromise = new Promise<void>((r) =>
      socket.once("close", () => {
        closed = true;
        r();
      }),
    );
    socket.on("error", () => undefined); // a reset is one of the outcomes tests look at
    socket.once("connect", () => {
      socket.write(head);
      if (options.body) socket.write(options.body);
      if (options.read === false) socket.pause();
      else socket.on("data", (c: Buffer) => chunks.push(c));
      resolve({ socket, received: () => Buffer.concat(chunks).toString("latin1"), closed: closedPromise, isClosed: () => closed });
    });
    socket.once("error", reject);
  });
}

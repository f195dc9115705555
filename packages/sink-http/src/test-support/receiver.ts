/**
 * A real webhook receiver for tests (node:http or node:https): records every request, answers
 * as the test says (status, headers, hang, delay).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  arrivedAt: number;
  /** The TLS client certificate's subject CN, when the client presented one. */
  clientCertCN?: string;
}

export type Answer =
  | { status: number; headers?: Record<string, string>; delayMs?: number }
  | { hang: true };

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Decides the answer per request; default 204. */
  answer: (req: ReceivedRequest) => Answer;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer; requestCert?: boolean };
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const sockets = new Set<Socket>();
  const requests: ReceivedRequest[] = [];
  const receiver: Receiver = {
    url: "",
    requests,
    answer: () => ({ status: 204 }),
    close: async () => {},
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const record: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        arrivedAt: Date.now(),
      };
      const peer = (req.socket as Socket & { getPeerCertificate?: () => { subject?: { CN?: string } } }).getPeerCertificate?.();
      if (peer?.subject?.CN) record.clientCertCN = peer.subject.CN;
      requests.push(record);
      const answer = receiver.answer(record);
      if ("hang" in answer) return;
      const send = () => res.writeHead(answer.status, answer.headers ?? {}).end();
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  };
  const server: Server = options.tls
    ? createHttpsServer(
        { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: options.tls.requestCert ?? false },
        handle,
      )
    : createServer(handle);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("secureConnection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}/events`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

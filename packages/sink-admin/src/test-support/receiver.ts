import { type IncomingMessage, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  headers: IncomingMessage["headers"];
  body: string;
}

export interface TestReceiver {
  url: string;
  received: ReceivedRequest[];
  /** `ce-id` of every request answered with 2xx. */
  delivered: string[];
  /** Status of the next responses; change it to flip the receiver between outage and health. */
  status: number;
  close(): Promise<void>;
}

/** A real HTTP webhook receiver on a free port that answers every POST with `status`. */
export async function startReceiver(status = 204): Promise<TestReceiver> {
  const receiver: TestReceiver = { url: "", received: [], delivered: [], status, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      receiver.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const code = receiver.status;
      if (code >= 200 && code < 300) receiver.delivered.push(String(req.headers["ce-id"]));
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}

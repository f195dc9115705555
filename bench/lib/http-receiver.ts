/** A local webhook receiver answering 204, as fast as node:http goes; records CloudEvent ids. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ArrivalLog, Receiver } from "./arrival-log.js";

export interface HttpReceiver extends Receiver {
  url: string;
  /** While set, every request is refused with 503 and `Retry-After` (seconds), and not recorded. */
  unavailable?: { retryAfterS: number } | undefined;
}

/** The id is `ce-id` in binary mode, or the body's `id` in structured mode / the bare worker's body. */
function eventId(header: string | string[] | undefined, body: string): string | undefined {
  if (typeof header === "string") return header;
  try {
    return (JSON.parse(body) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const receiver: HttpReceiver = { url: "", log: undefined as ArrivalLog | undefined, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (receiver.unavailable) {
        res.writeHead(503, { "retry-after": String(receiver.unavailable.retryAfterS) });
        res.end();
        return;
      }
      receiver.log?.record(eventId(req.headers["ce-id"], Buffer.concat(chunks).toString("utf8")));
      res.statusCode = 204;
      res.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

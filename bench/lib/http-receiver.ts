/**
 * A local webhook receiver answering 204, as fast as node:http goes or after a delay; records
 * CloudEvent ids (at the answer, so a delayed delivery counts when it completes).
 */
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

export interface HttpReceiverOptions {
  /** Answer after a uniform random delay in [min, max] ms, as a real webhook that does I/O would. */
  delayMs?: readonly [number, number];
}

export async function startHttpReceiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const receiver: HttpReceiver = { url: "", log: undefined as ArrivalLog | undefined, close: async () => {} };
  const [min, max] = options.delayMs ?? [0, 0];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (receiver.unavailable) {
        res.writeHead(503, { "retry-after": String(receiver.unavailable.retryAfterS) });
        res.end();
        return;
      }
      const answer = () => {
        receiver.log?.record(eventId(req.headers["ce-id"], Buffer.concat(chunks).toString("utf8")));
        res.statusCode = 204;
        res.end();
      };
      if (max <= 0) answer();
      else setTimeout(answer, min + Math.random() * (max - min));
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

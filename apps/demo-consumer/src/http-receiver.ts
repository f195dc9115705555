import { type IncomingMessage, type Server, createServer } from "node:http";
import type { ReceivedEvent } from "./event-line.js";

export interface HttpReceiverOptions {
  /** When set, deliveries must carry these Basic credentials (as a zot consumer would check). */
  basicAuth?: { username: string; password: string };
  onEvent: (event: ReceivedEvent) => void;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function authorized(req: IncomingMessage, auth: HttpReceiverOptions["basicAuth"]): boolean {
  if (!auth) return true;
  const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  return req.headers.authorization === expected;
}

/**
 * Accepts CloudEvents over HTTP in binary mode (ce-* headers, body = data) and structured mode
 * (application/cloudevents+json). https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
 */
export function createHttpReceiver(options: HttpReceiverOptions): Server {
  return createServer(async (req, res) => {
    if (req.method !== "POST") return void res.writeHead(405).end();
    if (!authorized(req, options.basicAuth)) return void res.writeHead(401).end();
    try {
      const body = await readBody(req);
      const contentType = String(req.headers["content-type"] ?? "");
      if (contentType.startsWith("application/cloudevents+json")) {
        const ev = JSON.parse(body) as { id: string; type: string; data: Record<string, unknown> };
        options.onEvent({ via: "http", id: ev.id, type: ev.type, data: ev.data ?? {} });
      } else {
        options.onEvent({
          via: "http",
          id: String(req.headers["ce-id"] ?? ""),
          type: String(req.headers["ce-type"] ?? ""),
          data: JSON.parse(body) as Record<string, unknown>,
        });
      }
      res.writeHead(204).end();
    } catch {
      res.writeHead(400).end();
    }
  });
}

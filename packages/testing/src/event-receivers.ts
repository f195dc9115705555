/**
 * Real event consumers for whole-stack tests: an HTTP webhook receiver that checks Basic auth
 * the way zot's receivers do and can misbehave on purpose (503, too slow, connection reset), and
 * a core NATS subscriber. Both record what they accepted, duplicates kept, in arrival order.
 * CloudEvents HTTP binding (binary and structured):
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
 */
import { type IncomingHttpHeaders, type IncomingMessage, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "@nats-io/transport-node";

/** One event as a consumer sees it: CloudEvent attributes + `data`. */
export interface ReceivedEvent {
  id: string;
  type: string;
  source: string;
  specversion: string;
  time: string;
  datacontenttype?: string;
  data: Record<string, unknown>;
  /** Milliseconds since the receiver started, at arrival. */
  at: number;
  /** HTTP only: the request headers. */
  headers?: IncomingHttpHeaders;
}

/**
 * What the receiver does with one authorized request: `slow` holds it beyond the sink timeout then
 * answers 503; `late` accepts it after `lateMs` (a slow but successful consumer); `reject` answers
 * 400 (a permanent failure: the event is dead-lettered at once).
 */
export type ReceiverVerdict = "accept" | "unavailable" | "slow" | "reset" | "late" | "reject";

export interface HttpReceiverOptions {
  username: string;
  password: string;
  /** Decides each request's fate, given the event it carries; default always "accept". */
  decide?: (event: ReceivedEvent) => ReceiverVerdict;
  /** How long a "slow" request is held before the receiver answers 503 (set above the sink timeout). */
  slowMs?: number;
  /** How long a "late" request is held before it is accepted. */
  lateMs?: number;
}

export interface HttpEventReceiver {
  readonly url: string;
  /** Events answered 2xx, duplicates kept. */
  readonly accepted: ReceivedEvent[];
  /** Requests by verdict, plus `unauthorized` (bad or missing credentials) and `malformed`. */
  readonly counts: Record<ReceiverVerdict | "unauthorized" | "malformed", number>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : (v ?? "");
}

/** Binary mode: attributes in `ce-*` headers, body = data; structured: the whole event as JSON. */
function decodeHttpEvent(req: IncomingMessage, body: string, at: number): ReceivedEvent {
  const h = req.headers;
  if (header(h, "content-type").startsWith("application/cloudevents+json")) {
    const ev = JSON.parse(body) as Omit<ReceivedEvent, "at" | "headers">;
    return { ...ev, at, headers: h };
  }
  return {
    id: header(h, "ce-id"),
    type: header(h, "ce-type"),
    source: header(h, "ce-source"),
    specversion: header(h, "ce-specversion"),
    time: header(h, "ce-time"),
    datacontenttype: header(h, "content-type"),
    data: JSON.parse(body) as Record<string, unknown>,
    at,
    headers: h,
  };
}

export async function startHttpEventReceiver(options: HttpReceiverOptions): Promise<HttpEventReceiver> {
  const started = Date.now();
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const decide = options.decide ?? (() => "accept");
  const slowMs = options.slowMs ?? 2_000;
  const accepted: ReceivedEvent[] = [];
  const lateMs = options.lateMs ?? 100;
  const counts = { accept: 0, unavailable: 0, slow: 0, reset: 0, late: 0, reject: 0, unauthorized: 0, malformed: 0 };
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer(async (req, res) => {
    if (req.headers.authorization !== expected) {
      counts.unauthorized++;
      return void res.writeHead(401, { "WWW-Authenticate": 'Basic realm="test"' }).end();
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away mid-body
    }
    let event: ReceivedEvent;
    try {
      event = decodeHttpEvent(req, body, 0);
    } catch {
      counts.malformed++;
      return void res.writeHead(400).end();
    }
    const verdict = decide(event);
    counts[verdict]++;
    if (verdict === "reset") return void req.socket.destroy();
    if (verdict === "unavailable") return void res.writeHead(503).end();
    if (verdict === "reject") return void res.writeHead(400).end();
    // Recorded when answered: the order of `accepted` is the order the sender saw its 2xx.
    const accept = () => {
      if (res.destroyed) return;
      accepted.push({ ...event, at: Date.now() - started });
      res.writeHead(204).end();
    };
    if (verdict === "slow" || verdict === "late") {
      const t = setTimeout(() => {
        timers.delete(t);
        if (verdict === "late") accept();
        else if (!res.destroyed) res.writeHead(503).end();
      }, verdict === "late" ? lateMs : slowMs);
      timers.add(t);
      return;
    }
    accept();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    accepted,
    counts,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface NatsEventSubscriber {
  /** Structured CloudEvents received on the subject, duplicates kept. */
  readonly received: ReceivedEvent[];
  /** Messages that were not a JSON CloudEvent. */
  readonly malformed: number;
  close(): Promise<void>;
}

/** A core NATS subscription on `subject` reading structured JSON CloudEvents (zot's format). */
export async function startNatsEventSubscriber(options: { url: string; subject: string }): Promise<NatsEventSubscriber> {
  const started = Date.now();
  const nc = await connect({ servers: options.url, name: "berth-test-subscriber" });
  const received: ReceivedEvent[] = [];
  const state = { malformed: 0 };
  const sub = nc.subscribe(options.subject, {
    callback: (err, msg) => {
      if (err) return;
      try {
        received.push({ ...(msg.json() as Omit<ReceivedEvent, "at">), at: Date.now() - started });
      } catch {
        state.malformed++;
      }
    },
  });
  // The subscription is registered on the server once a flush round trip completes.
  await nc.flush();
  return {
    received,
    get malformed() {
      return state.malformed;
    },
    async close() {
      sub.unsubscribe();
      await nc.close();
    },
  };
}

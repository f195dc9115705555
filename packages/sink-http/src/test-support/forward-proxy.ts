/**
 * A real, tiny HTTP forward proxy for tests (node:http): CONNECT tunnels (RFC 9110 §9.3.6) to any
 * host:port, optional Basic proxy authentication (407 otherwise), every request recorded.
 * Absolute-URI forwarding (`POST http://host/path`) is not offered: the HTTP sink's proxy agents
 * tunnel plain http too, so such a request is recorded and refused with 501, and a test that
 * checks `requests` sees it.
 */
import { type IncomingMessage, createServer } from "node:http";
import { type AddressInfo, type Socket, connect } from "node:net";

export interface ProxiedRequest {
  method: string;
  /** `host:port` for CONNECT, the request target otherwise. */
  target: string;
  /** Decoded `Proxy-Authorization: Basic` user:password, if sent. */
  credentials?: string;
  /** What the proxy answered: 200 (tunnel open), 407, 501, 502, or "hang". */
  answer: number | "hang";
}

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` (add userinfo yourself for an authenticated proxy). */
  readonly url: string;
  readonly port: number;
  readonly requests: ProxiedRequest[];
  /** Set to true to leave CONNECT requests unanswered. */
  hang: boolean;
  /** Client sockets that have closed (a hung CONNECT abandoned by the client shows up here). */
  readonly closedSockets: () => number;
  close(): Promise<void>;
}

function basicCredentials(req: IncomingMessage): string | undefined {
  const [scheme, encoded] = (req.headers["proxy-authorization"] ?? "").split(" ");
  if (scheme !== "Basic" || encoded === undefined) return undefined;
  return Buffer.from(encoded, "base64").toString("utf8");
}

/** `requiredCredentials` = "user:password" the proxy demands; omit for an open proxy. */
export async function startForwardProxy(requiredCredentials?: string): Promise<ForwardProxy> {
  const sockets = new Set<Socket>();
  const requests: ProxiedRequest[] = [];
  let closed = 0;
  const server = createServer((req, res) => {
    const record: ProxiedRequest = { method: req.method ?? "", target: req.url ?? "", answer: 501 };
    const credentials = basicCredentials(req);
    if (credentials !== undefined) record.credentials = credentials;
    requests.push(record);
    res.writeHead(501).end();
  });
  const proxy: ForwardProxy = {
    url: "",
    port: 0,
    requests,
    hang: false,
    closedSockets: () => closed,
    close: async () => {},
  };

  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? "";
    const record: ProxiedRequest = { method: "CONNECT", target, answer: 200 };
    const credentials = basicCredentials(req);
    if (credentials !== undefined) record.credentials = credentials;
    requests.push(record);
    sockets.add(client);
    client.on("close", () => {
      sockets.delete(client);
      closed++;
    });
    client.on("error", () => {});
    if (proxy.hang) {
      record.answer = "hang";
      return;
    }
    if (requiredCredentials !== undefined && credentials !== requiredCredentials) {
      record.answer = 407;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
      return;
    }
    const [host, port] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
    const upstream = connect(port, host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => {
      record.answer = 502;
      client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
    });
    client.on("close", () => upstream.destroy());
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}

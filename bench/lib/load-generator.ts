/**
 * The load generator: N concurrent clients in the bench process, each reusing keep-alive
 * connections (node:http Agent), so the servers are measured rather than TCP handshakes.
 */
import { Agent, type IncomingHttpHeaders, request } from "node:http";

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, unless the caller asked to discard it. */
  body: Buffer;
  /** Bytes of body received (also counted when discarded). */
  bytes: number;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A buffer, or a stream of chunks (then `content-length` must be set in headers). */
  body?: Buffer | AsyncIterable<Buffer>;
  /** Count the response bytes but keep none (downloads of large blobs). */
  discardBody?: boolean;
}

export class HttpLoadClient {
  readonly base: URL;
  private readonly agent: Agent;

  constructor(baseUrl: string, maxSockets: number) {
    this.base = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: string, pathOrUrl: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(pathOrUrl, this.base);
    const headers: Record<string, string> = { ...options.headers };
    const body = options.body;
    if (Buffer.isBuffer(body)) headers["content-length"] = String(body.length);
    else if (body === undefined && (method === "PUT" || method === "POST" || method === "PATCH"))
      headers["content-length"] = "0";
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (!options.discardBody) chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes }),
        );
        res.on("error", reject);
      });
      req.on("error", reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else void pipeBody(req, body).catch((err: unknown) => req.destroy(err as Error));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Writes an async stream of chunks into a request body, honouring backpressure. */
async function pipeBody(req: ReturnType<typeof request>, body: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of body) {
    if (!req.write(chunk)) await new Promise<void>((resolve) => req.once("drain", resolve));
  }
  req.end();
}

/** Runs `clients` loops concurrently; each takes the next task index until `tasks` are done. */
export async function runConcurrently(
  clients: number,
  tasks: number,
  task: (index: number) => Promise<void>,
): Promise<{ seconds: number }> {
  let next = 0;
  const started = process.hrtime.bigint();
  const loop = async () => {
    for (;;) {
      const i = next++;
      if (i >= tasks) return;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

export class UnexpectedStatusError extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
    this.name = "UnexpectedStatusError";
  }
}

export function expectStatus(what: string, res: HttpResponse, ...ok: number[]): HttpResponse {
  if (!ok.includes(res.status)) throw new UnexpectedStatusError(what, res.status, res.body.toString("utf8"));
  return res;
}

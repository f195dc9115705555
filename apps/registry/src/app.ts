import { randomUUID } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { EventFactory, EventPublisher } from "@berth/events";
import { OciError, validateRepositoryName } from "@berth/oci";
import { type Storage, requireStorableName } from "@berth/storage";
import type { Logger, Registry } from "@berth/telemetry";
import type { Authenticate } from "./auth/htpasswd-auth.js";
import { RegistryEvents } from "./events/registry-events.js";
import { announceLeftovers } from "./events/repository-creation.js";
import { HANDLERS } from "./handlers/dispatch.js";
import type { Ctx, RegistryDeps } from "./http/context.js";
import { sendError } from "./http/error-mapper.js";
import { createHttpMetrics } from "./http/http-metrics.js";
import { type RouteMatch, matchRoute } from "./http/router.js";
import type { LintSettings } from "./lint.js";

export interface RegistryAppOptions {
  storage: Storage;
  /** Where events go once a write succeeded (the outbox in production). */
  publisher: EventPublisher;
  /** Builds CloudEvents with the configured source / type prefix. */
  events: EventFactory;
  logger: Logger;
  metrics: Registry;
  /** Who the request is from (htpasswdAuth); absent = anonymous access. */
  authenticate?: Authenticate;
  lint?: LintSettings;
  /** Extra `/healthz` fields (the outbox status); `ok: false` in it turns the answer into 503. */
  health?: () => Record<string, unknown>;
  /** Refuse every write with DENIED. */
  readOnly?: boolean;
  /** Requests in flight beyond this are refused with TOOMANYREQUESTS (429). */
  maxInFlight?: number;
}

export interface RegistryApp {
  /** Not listening: the caller (main.ts or a test) calls `listen`. */
  server: Server;
  /** Requests currently being handled. */
  inFlight(): number;
  /** Announces repositories an earlier run created but died before announcing; their names. */
  announceLeftovers(): Promise<string[]>;
  /** Stops accepting, lets in-flight requests (uploads) finish for up to `graceMs`, then cuts. */
  close(graceMs?: number): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createRegistryApp(options: RegistryAppOptions): RegistryApp {
  const deps: RegistryDeps = {
    storage: options.storage,
    events: new RegistryEvents(options.events, options.publisher, options.logger),
    lint: options.lint ?? { enable: false, mandatoryAnnotations: [] },
    readOnly: options.readOnly ?? false,
  };
  const httpMetrics = createHttpMetrics(options.metrics);
  const maxInFlight = options.maxInFlight ?? 4096;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  async function serveOps(route: RouteMatch, res: ServerResponse): Promise<void> {
    if (route.id === "metrics") {
      const text = await options.metrics.metrics();
      res.writeHead(200, { "Content-Type": options.metrics.contentType }).end(text);
      return;
    }
    const extra = options.health?.() ?? {};
    const eventsPending = deps.events.pendingCount();
    // Events the outbox refused (disk and Redis both failing) are not durable: not healthy.
    const health = { ok: true, ...extra, ...(eventsPending > 0 ? { ok: false, eventsPending } : {}) };
    const body = JSON.stringify(health);
    res.writeHead(health.ok === false ? 503 : 200, { "Content-Type": "application/json" }).end(body);
  }

  async function handle(ctx: Ctx, route: RouteMatch | undefined): Promise<void> {
    if (!route) throw new OciError("NAME_UNKNOWN", "no such endpoint", { status: 404, detail: {} });
    if (route.id === "metrics" || route.id === "healthz") return serveOps(route, ctx.res);
    const handler = HANDLERS[route.id][ctx.req.method ?? ""];
    if (!handler) throw new OciError("UNSUPPORTED", "method not allowed", { detail: { method: ctx.req.method } });
    ctx.user = await options.authenticate?.(ctx.req, ctx.res);
    if (route.name !== undefined) ctx.name = requireStorableName(validateRepositoryName(route.name));
    ctx.ref = route.ref ?? "";
    await handler(ctx);
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = process.hrtime.bigint();
    const incoming = req.headers["x-request-id"];
    const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const route = matchRoute(path);
    const log = options.logger.child({ requestId });
    const ctx: Ctx = {
      req,
      res,
      query: new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)),
      name: "",
      ref: "",
      requestId,
      log,
      user: undefined,
      deps,
      bytesIn: 0,
      bytesOut: 0,
    };
    res.setHeader("X-Request-Id", requestId);
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    inFlight++;
    res.once("close", () => {
      inFlight--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const routeId = route?.id ?? "unknown";
      httpMetrics.observe(routeId, req.method ?? "", res.statusCode, seconds, ctx.bytesIn, ctx.bytesOut);
      log.info(
        { method: req.method, route: routeId, name: ctx.name || undefined, status: res.statusCode, ms: Math.round(seconds * 1000), user: ctx.user },
        "request",
      );
      if (inFlight === 0) idle?.();
    });
    const work =
      inFlight > maxInFlight
        ? Promise.reject(new OciError("TOOMANYREQUESTS", undefined, { detail: { maxInFlight } }))
        : handle(ctx, route);
    work.catch((err: unknown) => sendError(res, err, log));
  }

  const server = createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 30_000 }, onRequest);
  // A malformed request line or header never reaches the handler: answer 400 and close.
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });

  return {
    server,
    inFlight: () => inFlight,
    announceLeftovers: () => announceLeftovers(deps.storage.repositories, deps.events),
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => {
            idle = resolve;
          }),
          new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
        ]);
      }
      server.closeAllConnections();
      await closed;
      deps.events.stop();
    },
  };
}

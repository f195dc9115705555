import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type AccessControlSettings, DEFAULT_HTTP_LIMITS, type HttpLimits } from "@berth/config";
import type { FailureLimiter, Htpasswd } from "@berth/htpasswd";
import type { EventFactory, EventPublisher } from "@berth/events";
import { OciError, validateRepositoryName } from "@berth/oci";
import { type MaintenanceOptions, type Storage, requireStorableName, startMaintenance } from "@berth/storage";
import type { Logger, Registry } from "@berth/telemetry";
import type { BearerProviderOptions } from "./auth/bearer.js";
import type { LdapProviderOptions } from "./auth/ldap.js";
import { createRequestAuth } from "./auth/request-auth.js";
import { RegistryEvents } from "./events/registry-events.js";
import { announceLeftovers } from "./events/repository-creation.js";
import { HANDLERS } from "./handlers/dispatch.js";
import type { Ctx, RegistryDeps } from "./http/context.js";
import { sendError } from "./http/error-mapper.js";
import { createDiskSpaceCheck } from "./http/disk-space.js";
import { createHttpMetrics } from "./http/http-metrics.js";
import { createStorageMetrics } from "./http/storage-metrics.js";
import { type RegistryServer, type TlsMaterial, createRegistryServer, reloadTls } from "./http/listener.js";
import { MemoryBudget } from "./http/memory-budget.js";
import { type RouteMatch, matchRoute } from "./http/router.js";
import { applyServerLimits, serverOptions } from "./http/server-limits.js";
import type { LintSettings } from "./lint.js";

export interface RegistryAppOptions {
  storage: Storage;
  /** Where events go once a write succeeded (the outbox in production). */
  publisher: EventPublisher;
  /** Builds CloudEvents with the configured source / type prefix. */
  events: EventFactory;
  logger: Logger;
  metrics: Registry;
  /** htpasswd users (Basic auth); absent = no htpasswd. */
  htpasswd?: Htpasswd;
  /** Failed Basic logins per client address; past the limit: 429 with Retry-After. */
  limiter?: FailureLimiter;
  /** A directory checking Basic credentials htpasswd does not know (zot's http.auth.ldap). */
  ldap?: LdapProviderOptions;
  /** Bearer tokens from a token service (zot's http.auth.bearer). */
  bearer?: BearerProviderOptions;
  /** zot's accessControl: who may do what per repository glob. */
  accessControl?: AccessControlSettings;
  lint?: LintSettings;
  /** Extra `/healthz` fields (the outbox status); `ok: false` in it turns the answer into 503. */
  health?: () => Record<string, unknown>;
  /** Refuse every write with DENIED. */
  readOnly?: boolean;
  /** Serve HTTPS only, with this certificate (and client-certificate auth when it has a CA). */
  tls?: TlsMaterial;
  /** Timeouts, in-flight cap, body memory budget; unset keys take DEFAULT_HTTP_LIMITS. */
  limits?: Partial<HttpLimits>;
  /** `/metrics` asks for credentials too (any authenticated user; accessControl.metrics narrows it). */
  metricsAuth?: boolean;
  /** `/healthz` reports low disk (503) when the storage root has fewer free bytes; 0 = never. */
  minFreeBytes?: number;
  /** Garbage collection and upload expiry in the background (absent: none; tests). */
  maintenance?: Omit<MaintenanceOptions, "onCollected" | "onExpired" | "onError">;
}

export interface RegistryApp {
  /** Not listening: the caller (main.ts or a test) calls `listen`. */
  server: RegistryServer;
  /** New TLS material for new connections (certificate renewal); throws when it is unusable. */
  reloadTls(tls: TlsMaterial): void;
  /** API requests currently being handled (`/healthz` and `/metrics` not counted). */
  inFlight(): number;
  /** Announces repositories an earlier run created but died before announcing; their names. */
  announceLeftovers(): Promise<string[]>;
  /** Stops accepting, lets in-flight requests (uploads) finish for up to `graceMs`, then cuts. */
  close(graceMs?: number): Promise<void>;
}

/** Until a request is authorized it may do nothing. */
const NO_ACCESS = { can: () => false, showsInCatalog: () => false };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function isOps(route: RouteMatch | undefined): boolean {
  return route?.id === "metrics" || route?.id === "healthz";
}

export function createRegistryApp(options: RegistryAppOptions): RegistryApp {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  const deps: RegistryDeps = {
    storage: options.storage,
    events: new RegistryEvents(options.events, options.publisher, options.logger),
    lint: options.lint ?? { enable: false, mandatoryAnnotations: [] },
    readOnly: options.readOnly ?? false,
    bodyBudget: new MemoryBudget(limits.maxBufferedBodyBytes),
  };
  const auth = createRequestAuth({
    ...(options.htpasswd ? { htpasswd: options.htpasswd } : {}),
    ...(options.limiter ? { limiter: options.limiter } : {}),
    ...(options.ldap ? { ldap: options.ldap } : {}),
    ...(options.bearer ? { bearer: options.bearer } : {}),
    ...(options.accessControl ? { accessControl: options.accessControl } : {}),
    clientCertificates: options.tls?.ca !== undefined,
    storage: options.storage,
  });
  const httpMetrics = createHttpMetrics(options.metrics);
  const { maxInFlight } = limits;
  const diskSpace = createDiskSpaceCheck(options.storage.root, options.minFreeBytes ?? 0);
  const storageMetrics = createStorageMetrics(options.metrics, options.storage);
  const maintenance = options.maintenance
    ? startMaintenance(options.storage, {
        ...options.maintenance,
        onCollected(result) {
          storageMetrics.collected(result);
          const { removed, bytes, repositories, skipped } = result;
          if (removed.length > 0 || skipped.length > 0) options.logger.info({ removed: removed.length, bytes, repositories, skipped }, "garbage collected");
        },
        onExpired(result) {
          storageMetrics.expired(result);
          if (result.expired.length > 0) options.logger.info({ expired: result.expired.length, open: result.open }, "expired upload sessions");
        },
        onError: (task, err) => options.logger.error({ err, task }, task === "gc" ? "garbage collection failed (retried next interval)" : "upload expiry failed (retried next sweep)"),
      })
    : undefined;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  async function serveOps(ctx: Ctx, route: RouteMatch): Promise<void> {
    const { res } = ctx;
    if (route.id === "metrics") {
      const text = await options.metrics.metrics();
      res.writeHead(200, { "Content-Type": options.metrics.contentType }).end(text);
      return;
    }
    const extra = options.health?.() ?? {};
    const eventsPending = deps.events.pendingCount();
    const disk = await diskSpace();
    // Events the outbox refused (disk and Redis both failing) are not durable: not healthy.
    // Nor is a disk about to refuse pushes (pulls still work, but operators must act).
    const health = {
      ok: true,
      ...extra,
      ...(disk ? { disk } : {}),
      ...(disk?.low ? { ok: false } : {}),
      ...(eventsPending > 0 ? { ok: false, eventsPending } : {}),
    };
    const body = JSON.stringify(health);
    res.writeHead(health.ok === false ? 503 : 200, { "Content-Type": "application/json" }).end(body);
  }

  async function handle(ctx: Ctx, route: RouteMatch | undefined): Promise<void> {
    if (!route) throw new OciError("NAME_UNKNOWN", "no such endpoint", { status: 404, detail: {} });
    if (route.id === "metrics") await auth.authorizeMetrics(ctx, options.metricsAuth ?? false);
    if (route.id === "metrics" || route.id === "healthz") return serveOps(ctx, route);
    const handler = HANDLERS[route.id][ctx.req.method ?? ""];
    if (!handler) throw new OciError("UNSUPPORTED", "method not allowed", { detail: { method: ctx.req.method } });
    ctx.ref = route.ref ?? "";
    await auth.authenticate(ctx, route);
    if (route.name !== undefined) ctx.name = requireStorableName(validateRepositoryName(route.name));
    await auth.authorize(ctx, route);
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
      identity: undefined,
      access: NO_ACCESS,
      deps,
      bytesIn: 0,
      bytesOut: 0,
    };
    res.setHeader("X-Request-Id", requestId);
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    // Ops endpoints are outside the cap, so API traffic can never starve them.
    const counted = !isOps(route);
    if (counted) inFlight++;
    res.once("close", () => {
      if (counted) inFlight--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const routeId = route?.id ?? "unknown";
      httpMetrics.observe(routeId, req.method ?? "", res.statusCode, seconds, ctx.bytesIn, ctx.bytesOut);
      log.info(
        { method: req.method, route: routeId, name: ctx.name || undefined, status: res.statusCode, ms: Math.round(seconds * 1000), user: ctx.user },
        "request",
      );
      if (counted && inFlight === 0) idle?.();
    });
    const work =
      counted && inFlight > maxInFlight
        ? Promise.reject(new OciError("TOOMANYREQUESTS", undefined, { detail: { maxInFlight } }))
        : handle(ctx, route);
    work.catch((err: unknown) => sendError(res, err, log));
  }

  const server = createRegistryServer(serverOptions(limits), onRequest, options.tls);
  applyServerLimits(server, limits, {
    onCut(reason, socket) {
      httpMetrics.connectionCut(reason);
      options.logger.warn({ reason, remote: socket.remoteAddress }, "closed a connection that did not keep up");
    },
  });
  // A malformed request line or header never reaches the handler: answer 400 and close. Headers
  // that did not arrive within http.headerTimeout get 408.
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  return {
    server,
    reloadTls: (tls) => reloadTls(server, tls),
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
      await maintenance?.stop();
      deps.events.stop();
    },
  };
}

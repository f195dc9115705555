import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccessAction, Identity } from "@berth/access";
import type { RequestContext } from "@berth/events";
import type { Storage } from "@berth/storage";
import type { Logger } from "@berth/telemetry";
import type { RegistryEvents } from "../events/registry-events.js";
import type { LintSettings } from "../lint.js";
import type { MemoryBudget } from "./memory-budget.js";

/** What every handler may use: the stores, the event boundary, settings. */
export interface RegistryDeps {
  storage: Storage;
  events: RegistryEvents;
  lint: LintSettings;
  readOnly: boolean;
  /** Bytes of request bodies held in memory at once (manifest PUTs). */
  bodyBudget: MemoryBudget;
}

/** One request, already routed and authenticated. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  /** Validated repository name ("" for routes without one). */
  name: string;
  /** Reference, digest or upload id from the path. */
  ref: string;
  requestId: string;
  log: Logger;
  /** The authenticated user, when auth is configured. */
  user: string | undefined;
  /** Who made the request; undefined = anonymous. */
  identity: Identity | undefined;
  /** What this request's identity may do beyond the route's own check (mount sources, catalog). */
  access: RequestAccess;
  deps: RegistryDeps;
  /** Payload bytes moved, for the bytes-in/out metrics. */
  bytesIn: number;
  bytesOut: number;
}

export interface RequestAccess {
  can(action: AccessAction, repository: string): boolean;
  showsInCatalog(repository: string): boolean;
}

export type Handler = (ctx: Ctx) => Promise<void>;

/** The `actor` / `request` fields of events: zot's `r.RemoteAddr` style `ip:port`. */
export function eventContext(ctx: Ctx): RequestContext {
  const socket = ctx.req.socket;
  let ip = socket.remoteAddress ?? "";
  if (ip.startsWith("::ffff:")) ip = ip.slice(7);
  const addr = ip.includes(":") ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
  const context: RequestContext = {
    request: { addr, method: ctx.req.method ?? "", useragent: ctx.req.headers["user-agent"] ?? "" },
  };
  if (ctx.user !== undefined) context.actor = { name: ctx.user };
  return context;
}

/** Ends the response with no body (Content-Length: 0, as the spec's examples show). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { ...headers, "Content-Length": 0 });
  res.end();
}

export function sendJson(ctx: Ctx, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  const length = Buffer.byteLength(body);
  ctx.bytesOut += length;
  ctx.res.writeHead(status, { "Content-Type": "application/json", ...headers, "Content-Length": length });
  ctx.res.end(ctx.req.method === "HEAD" ? undefined : body);
}

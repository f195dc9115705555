/**
 * Timeouts that keep slow or hostile clients from holding the registry's connections, applied to
 * whatever server is created (plain HTTP or TLS): `serverOptions` at creation, `applyServerLimits`
 * right after.
 *
 * - headers must arrive within `headerTimeoutMs` (Node answers 408 and closes);
 * - a keep-alive connection idles at most `idleTimeoutMs` between requests;
 * - a request body must average `bodyMinBytesPerSecond` over each `bodyRateWindowMs`: a minimum
 *   rate, not a deadline, so a slow but honest multi-GB push survives and a stalled one is cut;
 * - a connection on which nothing moves for `stallTimeoutMs` while a request is in flight (a
 *   download the client stopped reading) is closed, releasing its buffers and file handle.
 */
import type { IncomingMessage, Server, ServerOptions } from "node:http";
import type { Socket } from "node:net";
import type { HttpLimits } from "@berth/config";
import { hasBody } from "./body.js";

export type CutReason = "slow-body" | "stalled";

export interface LimitHooks {
  /** A connection was closed by a limit (for logs and metrics). */
  onCut(reason: CutReason, socket: Socket): void;
}

/** Options for `createServer` (http or https). */
export function serverOptions(limits: HttpLimits): ServerOptions {
  return {
    // No deadline for a whole request: a multi-GB push may take hours. The body rate does the job.
    requestTimeout: 0,
    headersTimeout: limits.headerTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks header deadlines on this interval (30 s by default, so a 5 s limit would act late).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4))),
  };
}

export function applyServerLimits(server: Server, limits: HttpLimits, hooks: LimitHooks): void {
  server.timeout = limits.stallTimeoutMs;
  server.on("timeout", (socket: Socket) => {
    hooks.onCut("stalled", socket);
    socket.destroy();
  });
  if (limits.bodyMinBytesPerSecond > 0) watchBodyRates(server, limits, hooks);
}

interface BodyWatch {
  req: IncomingMessage;
  windowStart: number;
  bytesAtStart: number;
}

/** One sweep per server checks every body in progress; a timer per request would cost more. */
function watchBodyRates(server: Server, limits: HttpLimits, hooks: LimitHooks): void {
  const window = limits.bodyRateWindowMs;
  const minBytes = (limits.bodyMinBytesPerSecond * window) / 1000;
  const watches = new Set<BodyWatch>();
  let sweeper: NodeJS.Timeout | undefined;

  const sweep = () => {
    const now = Date.now();
    for (const watch of watches) {
      const { req } = watch;
      const socket = req.socket;
      // Bytes already received and not yet read mean the server is the one waiting (disk,
      // memory budget): not the client's fault. Start a fresh window.
      if (req.readableLength > 0) restart(watch, now);
      else if (now - watch.windowStart >= window) {
        if (socket.bytesRead - watch.bytesAtStart < minBytes) {
          watches.delete(watch);
          hooks.onCut("slow-body", socket);
          socket.destroy();
        } else restart(watch, now);
      }
    }
    if (watches.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  server.on("request", (req: IncomingMessage) => {
    if (!hasBody(req) || req.complete) return;
    const watch: BodyWatch = { req, windowStart: Date.now(), bytesAtStart: req.socket.bytesRead };
    watches.add(watch);
    const done = () => watches.delete(watch);
    req.once("end", done);
    req.once("close", done);
    sweeper ??= setInterval(sweep, Math.max(50, Math.floor(window / 4))).unref();
  });
  server.once("close", () => clearInterval(sweeper));
}

function restart(watch: BodyWatch, now: number): void {
  watch.windowStart = now;
  watch.bytesAtStart = watch.req.socket.bytesRead;
}

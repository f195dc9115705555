/**
 * Timeouts that keep slow or hostile clients from holding the registry's connections, applied to
 * whatever server is created (plain HTTP or TLS): `serverOptions` at creation, `applyServerLimits`
 * right after.
 *
 * - headers must arrive within `headerTimeoutMs` (Node answers 408 and closes);
 * - a keep-alive connection idles at most `idleTimeoutMs` between requests;
 * - a request body must average `bodyMinBytesPerSecond` over each `bodyRateWindowMs`: a minimum
 *   rate, not a deadline, so a slow but honest multi-GB push survives and a stalled one is cut;
 * - a response whose bytes wait for the client, none of them taken for `stallTimeoutMs` (a
 *   download the client stopped reading), closes the connection, releasing its buffers and file
 *   handle. Time the server spends on its own work is never counted.
 *
 * One sweep per server checks every request in progress; a timer per request would cost more.
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from "node:http";
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
  const window = limits.bodyRateWindowMs;
  const minBodyBytes = (limits.bodyMinBytesPerSecond * window) / 1000;
  const watches = new Set<Watch>();
  let sweeper: NodeJS.Timeout | undefined;

  const cut = (watch: Watch, reason: CutReason) => {
    watches.delete(watch);
    hooks.onCut(reason, watch.socket);
    watch.socket.destroy();
  };

  const sweep = () => {
    const now = Date.now();
    for (const watch of watches) {
      if (minBodyBytes > 0 && bodyTooSlow(watch, now, window, minBodyBytes)) cut(watch, "slow-body");
      else if (stalled(watch, now, limits.stallTimeoutMs)) cut(watch, "stalled");
    }
    if (watches.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const now = Date.now();
    const { socket } = req;
    const watch: Watch = {
      req,
      socket,
      body: hasBody(req) && !req.complete,
      windowStart: now,
      bytesAtStart: socket.bytesRead,
      written: socket.bytesWritten,
      writtenAt: now,
    };
    watches.add(watch);
    req.once("end", () => {
      watch.body = false;
    });
    res.once("close", () => watches.delete(watch));
    sweeper ??= setInterval(sweep, Math.max(50, Math.floor(Math.min(window, limits.stallTimeoutMs) / 4))).unref();
  });
  server.once("close", () => clearInterval(sweeper));
}

/** One request in progress, with what the sweeps last saw of its connection. */
interface Watch {
  req: IncomingMessage;
  socket: Socket;
  /** A request body is still being received. */
  body: boolean;
  windowStart: number;
  bytesAtStart: number;
  written: number;
  writtenAt: number;
}

/** The body moved fewer than `minBytes` over a whole window while the server was waiting for it. */
function bodyTooSlow(watch: Watch, now: number, window: number, minBytes: number): boolean {
  if (!watch.body) return false;
  const received = watch.socket.bytesRead - watch.bytesAtStart;
  // Bytes received and not yet read mean the server is the one waiting (disk, memory budget):
  // not the client's fault. Each window starts afresh.
  if (watch.req.readableLength > 0 || now - watch.windowStart >= window) {
    const slow = watch.req.readableLength === 0 && received < minBytes;
    watch.windowStart = now;
    watch.bytesAtStart = watch.socket.bytesRead;
    return slow;
  }
  return false;
}

/**
 * Response bytes are waiting for the client and none left for `stallTimeoutMs`: the client
 * stopped reading. A server busy with its own work (nothing pending) is never counted.
 */
function stalled(watch: Watch, now: number, stallTimeoutMs: number): boolean {
  const { socket } = watch;
  if (socket.writableLength === 0 || socket.bytesWritten !== watch.written) {
    watch.written = socket.bytesWritten;
    watch.writtenAt = now;
    return false;
  }
  return now - watch.writtenAt >= stallTimeoutMs;
}

import type { SinkConfig } from "@berth/config";
import { TransientDeliveryError } from "@berth/delivery";
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { untilAborted } from "./abortable.js";
import { buildNatsSecurity } from "./nats-auth.js";
import { connectFailure } from "./nats-error-classifier.js";
import { describeServers, parseServers } from "./server-list.js";

export interface NatsConnectionOptions {
  /** Shown by the server (`nats server report connections`); defaults to `berth-<sink>`. */
  connectionName?: string;
  /** Upper bound of one draining close before the connection is cut. */
  drainTimeoutMs?: number;
}

interface Waiter {
  resolve(nc: NatsConnection): void;
  reject(err: Error): void;
}

const FIRST_CONNECT_BASE_MS = 250;
const MAX_BACKOFF_MS = 5_000;

/**
 * The one connection of a sink in this process. It is opened lazily by the first delivery; if
 * the server is down, a background loop keeps trying (with capped exponential backoff) while each
 * waiting delivery fails with a transient error instead of hanging past its signal. Once
 * connected, the client reconnects forever on its own (`maxReconnectAttempts: -1`).
 */
export class NatsConnector {
  readonly #sink: SinkConfig;
  readonly #servers: string[];
  readonly #options: NatsConnectionOptions;
  readonly #waiters = new Set<Waiter>();
  readonly #stop = new AbortController();
  #nc: NatsConnection | undefined;
  #loop: Promise<void> | undefined;
  #lastFailure: Error | undefined;
  #disconnectedAt: number | undefined;
  /** Settles when a lost link is back (or the connection closed for good). */
  #linkBack: Promise<void> | undefined;
  #markLinkBack: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(sink: SinkConfig, options: NatsConnectionOptions = {}) {
    this.#sink = sink;
    this.#servers = parseServers(sink.address);
    this.#options = options;
  }

  /** The server list without credentials, for messages. */
  get servers(): string {
    return describeServers(this.#servers);
  }

  /** True between a lost link and the reconnect (published data is buffered meanwhile). */
  get disconnected(): boolean {
    return this.#disconnectedAt !== undefined;
  }

  /**
   * The open connection, connecting first if needed; bounded by `signal`. While the link is down
   * it waits for the reconnect: the client discards what was buffered during the outage when it
   * redials (and fails the pending flushes), so publishing then could never be confirmed.
   */
  connection(signal: AbortSignal): Promise<NatsConnection> {
    const nc = this.#nc;
    if (nc) {
      if (!this.#linkBack) return Promise.resolve(nc);
      return untilAborted(
        this.#linkBack.then(() => nc),
        signal,
        () => this.#unreachable(),
      );
    }
    if (this.#closing) return Promise.reject(this.#closedError());
    if (signal.aborted) return Promise.reject(this.#unreachable());
    this.#loop ??= this.#connectLoop().finally(() => {
      this.#loop = undefined;
    });
    return new Promise<NatsConnection>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(this.#unreachable());
      };
      const waiter: Waiter = {
        resolve: (nc) => {
          signal.removeEventListener("abort", onAbort);
          resolve(nc);
        },
        reject: (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      this.#waiters.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Stops connecting and drains the connection (flushes what was published). Idempotent. Settles
   * only once nothing of the sink is left open: an attempt in flight is awaited (bounded by the
   * connect timeout) and the connection it may still open is closed at once.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stop.abort();
    this.#settle((w) => w.reject(this.#closedError()));
    const nc = this.#nc;
    const linkDown = this.disconnected;
    this.#nc = undefined;
    await Promise.all([this.#loop, nc && shutDown(nc, { drain: !linkDown, drainTimeoutMs: this.#options.drainTimeoutMs ?? 5_000 })]);
  }

  async #connectLoop(): Promise<void> {
    for (let failures = 0; !this.#stop.signal.aborted; failures++) {
      try {
        const options = await this.#connectOptions();
        if (this.#stop.signal.aborted) return;
        const nc = await connect(options);
        if (this.#stop.signal.aborted) {
          await nc.close();
          return;
        }
        this.#adopt(nc);
        return;
      } catch (err) {
        const failure = connectFailure(err, this.#sink.name, this.servers);
        this.#lastFailure = failure;
        this.#settle((w) => w.reject(failure));
        await sleep(backoffMs(FIRST_CONNECT_BASE_MS, failures), this.#stop.signal);
      }
    }
  }

  async #connectOptions(): Promise<NodeConnectionOptions> {
    return {
      servers: this.#servers,
      name: this.#options.connectionName ?? `berth-${this.#sink.name}`,
      timeout: this.#sink.timeoutMs,
      maxReconnectAttempts: -1,
      // Backoff grows with the length of the outage: quick after a blip, 5 s at most.
      reconnectDelayHandler: () => {
        const down = this.#disconnectedAt === undefined ? 0 : Date.now() - this.#disconnectedAt;
        return Math.min(MAX_BACKOFF_MS, Math.max(FIRST_CONNECT_BASE_MS, down / 4)) + Math.random() * 100;
      },
      ...(await buildNatsSecurity(this.#sink)),
    };
  }

  #adopt(nc: NatsConnection): void {
    this.#nc = nc;
    this.#lastFailure = undefined;
    this.#linkUp();
    void this.#watch(nc);
    this.#settle((w) => w.resolve(nc));
  }

  /** Tracks the link state; a connection closed by the client itself is replaced on next use. */
  async #watch(nc: NatsConnection): Promise<void> {
    void nc.closed().then(() => {
      if (this.#nc !== nc) return;
      this.#nc = undefined;
      this.#linkUp();
    });
    for await (const status of nc.status()) {
      if (status.type === "disconnect") this.#linkDown();
      else if (status.type === "reconnect") this.#linkUp();
    }
  }

  #linkDown(): void {
    if (this.#linkBack) return;
    this.#disconnectedAt = Date.now();
    this.#linkBack = new Promise((resolve) => {
      this.#markLinkBack = resolve;
    });
  }

  #linkUp(): void {
    this.#markLinkBack?.();
    this.#markLinkBack = undefined;
    this.#linkBack = undefined;
    this.#disconnectedAt = undefined;
  }

  #settle(fn: (w: Waiter) => void): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) fn(w);
  }

  #unreachable(): TransientDeliveryError {
    const why = this.#lastFailure ? `: ${this.#lastFailure.message}` : this.#linkBack ? " (reconnecting)" : "";
    return new TransientDeliveryError(
      "unreachable",
      `sink "${this.#sink.name}": not connected to NATS ${this.servers} within the attempt${why}`,
      { cause: this.#lastFailure },
    );
  }

  #closedError(): TransientDeliveryError {
    return new TransientDeliveryError("closed", `sink "${this.#sink.name}" is closed`);
  }
}

/**
 * Drains (bounded: draining needs the server) or, with the link down, closes at once: the client
 * discards what it buffered during an outage when it redials, so there is nothing to flush then.
 * Either way the connection ends closed. A drain can fail without closing (the redial rejects its
 * flush), and a connection that is not closed keeps redialling forever and holds the process open.
 */
async function shutDown(nc: NatsConnection, { drain, drainTimeoutMs }: { drain: boolean; drainTimeoutMs: number }): Promise<void> {
  if (nc.isClosed()) return;
  if (drain) {
    const drained = nc.drain().catch(() => {});
    const cut = setTimeout(() => void nc.close().catch(() => {}), drainTimeoutMs);
    await Promise.race([drained, nc.closed()]);
    clearTimeout(cut);
  }
  if (!nc.isClosed()) await nc.close().catch(() => {});
}

/** Exponential with jitter, capped (so many workers do not reconnect in lockstep). */
function backoffMs(baseMs: number, failures: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(failures, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

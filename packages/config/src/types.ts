import type { EventKind } from "@berth/events";

/**
 * The resolved, validated configuration every process receives. Durations are milliseconds,
 * secrets are already read from their files / env overrides, defaults are filled in.
 */

export const SINK_TYPES = ["http", "nats"] as const;
export type SinkType = (typeof SINK_TYPES)[number];

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface RetrySettings {
  /** Total attempts including the first. */
  attempts: number;
  /** Base delay of the exponential backoff. */
  delayMs: number;
  /** Cap of one backoff delay (and of an honoured Retry-After). */
  maxDelayMs: number;
}

export interface TlsSettings {
  caCertFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface SinkCredentials {
  username?: string;
  password?: string;
  token?: string;
  /** NATS `.creds` file (JWT + nkey seed). */
  file?: string;
}

export interface BreakerSettings {
  /** Consecutive failed attempts that open the breaker. */
  threshold: number;
  cooldownMs: number;
}

export interface SinkConfig {
  /** Stable identity: names the sink's queue and dead-letter queue. [a-z0-9][a-z0-9_-]* */
  name: string;
  type: SinkType;
  address: string;
  timeoutMs: number;
  credentials: SinkCredentials;
  headers: Record<string, string>;
  /** NATS subject (required for nats); for http sent as `ce-channel`. */
  channel?: string;
  tls?: TlsSettings;
  proxy?: string;
  /** Event kinds this sink receives; empty = all. */
  events: EventKind[];
  /** Repository globs (`*` within a path segment, `**` across); empty = all. */
  repositories: string[];
  retry: RetrySettings;
  mode: "binary" | "structured";
  /** nats only: publish through JetStream and wait for the ack. */
  jetstream: boolean;
  /** http only: Standard Webhooks signing secret. */
  signingSecret?: string;
  /** Jobs in flight per worker process for this sink. */
  concurrency: number;
  breaker: BreakerSettings;
}

/** Limits of the registry's HTTP edge against slow and hostile clients; durations in ms. */
export interface HttpLimits {
  /** The request line and headers must arrive within this. */
  headerTimeoutMs: number;
  /** A keep-alive connection idle between requests is closed after this. */
  idleTimeoutMs: number;
  /** A request body must average at least this many bytes/s over each window; 0 = no minimum. */
  bodyMinBytesPerSecond: number;
  bodyRateWindowMs: number;
  /** Response bytes waiting for the client with none taken for this long close the connection. */
  stallTimeoutMs: number;
  /** API requests in flight beyond this get 429 (`/healthz` and `/metrics` are not counted). */
  maxInFlight: number;
  /** Request bodies read into memory (manifests) at once, in bytes; further ones wait. */
  maxBufferedBodyBytes: number;
}

export interface ListenSettings {
  address: string;
  port: number;
}

export interface BerthConfig {
  distSpecVersion: string;
  storage: {
    rootDirectory: string;
    /** false only in benchmarks: directory fsyncs off (a power loss can lose acknowledged writes). Absent = true. */
    fsyncDirectories?: boolean;
    /** `/healthz` reports low disk below this many free bytes; 0 = never. */
    minFreeBytes: number;
  };
  http: ListenSettings & {
    auth: { htpasswd?: { path: string } };
    limits: HttpLimits;
    /** `/metrics` asks for the registry's htpasswd credentials too. */
    metricsAuth: boolean;
  };
  log: { level: LogLevel; output?: string };
  extensions: {
    lint: { enable: boolean; mandatoryAnnotations: string[] };
    events: { enable: boolean; source: string; typePrefix: string; sinks: SinkConfig[] };
  };
  queue: {
    /** Redis URL; may carry a password (masked when printed). */
    redisUrl: string;
    /** BullMQ key prefix. */
    prefix: string;
  };
  dashboard: ListenSettings & {
    auth: {
      htpasswdPath?: string;
      username?: string;
      password?: string;
      /** Must be set explicitly to serve the dashboard without auth. */
      anonymous: boolean;
      readOnly: boolean;
    };
  };
  /** Each worker app's own /metrics + /healthz listener. Port 0 = any free port. */
  workers: { http: ListenSettings; nats: ListenSettings };
}

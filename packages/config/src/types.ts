import type { EventKind, PayloadMode } from "@berth/events";

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

export const SINK_ORDERINGS = ["none", "repository"] as const;
export type SinkOrdering = (typeof SINK_ORDERINGS)[number];

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
  /**
   * `repository`: each repository's events reach this sink in sequence order (a retrying event
   * holds back only the later events of its own repository). `none`: no order (the default).
   */
  ordering: SinkOrdering;
  breaker: BreakerSettings;
  /** `thin` leaves `data.manifest` out of every event (parseConfig sets it; absent = full). */
  payload?: PayloadMode;
  /**
   * Manifests larger than this (UTF-8 bytes) are left out (`manifestomitted: size`); 0 = no
   * limit. parseConfig fills in extensions.events.maxManifestBytes when the sink has none.
   */
  maxManifestBytes?: number;
}

export interface RedisNode {
  host: string;
  port: number;
}

/** The Redis deployment every process connects to (`queue.redis`). */
export type RedisTopology =
  /** One server (or a proxy in front of one); the URL may carry a password. */
  | { kind: "standalone"; url: string }
  /** A master found through Redis Sentinel; clients follow it across failovers. */
  | {
      kind: "sentinel";
      sentinels: RedisNode[];
      /** The master group name the sentinels monitor. */
      name: string;
      username?: string;
      password?: string;
      sentinelPassword?: string;
      db: number;
    }
  /** A Redis Cluster, reached through any of the seed nodes. */
  | { kind: "cluster"; nodes: RedisNode[]; username?: string; password?: string };

export interface DurabilitySettings {
  /**
   * Replicas that must confirm an enqueue (Redis WAIT) before the registry answers; 0 = the
   * master's own write is enough. Unconfirmed events go to the local journal.
   */
  minReplicas: number;
  /** How long one WAIT may take before the event is journaled instead. */
  timeoutMs: number;
}

export interface RegistryAuthSettings {
  htpasswd?: { path: string };
  /** Threads running bcrypt checks. */
  bcryptWorkers: number;
  /** Per client address: `limit` failed logins per `windowMs`, then 429 until the window ends. */
  failedAttempts: { limit: number; windowMs: number };
}

export interface ListenSettings {
  address: string;
  port: number;
}

/** The retained event log, bounded by age and by count (`maxEvents` 0 = off). */
export interface EventLogSettings {
  maxAgeMs: number;
  maxEvents: number;
}

export interface BerthConfig {
  distSpecVersion: string;
  storage: {
    rootDirectory: string;
    /** false only in benchmarks: directory fsyncs off (a power loss can lose acknowledged writes). Absent = true. */
    fsyncDirectories?: boolean;
  };
  http: ListenSettings & { auth: RegistryAuthSettings };
  log: { level: LogLevel; output?: string };
  extensions: {
    lint: { enable: boolean; mandatoryAnnotations: string[] };
    events: {
      enable: boolean;
      source: string;
      typePrefix: string;
      /** Default of each sink's `maxManifestBytes`; 0 = no limit. */
      maxManifestBytes: number;
      sinks: SinkConfig[];
      log: EventLogSettings;
    };
  };
  queue: {
    /** Where Redis is: one server, a Sentinel-watched master, or a Cluster. */
    redis: RedisTopology;
    /**
     * BullMQ key prefix. On a Cluster it always carries a hash tag (`berth` becomes `{berth}`), so
     * every Berth key lives in one slot: the outbox adds to several queues in one script call.
     */
    prefix: string;
    durability: DurabilitySettings;
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

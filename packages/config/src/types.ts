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

export interface RegistryAuthSettings {
  htpasswd?: { path: string };
  ldap?: LdapSettings;
  bearer?: BearerSettings;
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
  /** Manifests larger than this are not kept in the log (`manifestomitted: size`); 0 = no limit. */
  maxManifestBytes: number;
}

/** TLS of the registry listener (zot's `http.tls`); absolute paths of readable files. */
export interface ListenerTls {
  certFile: string;
  keyFile: string;
  /** Set = clients must present a certificate that chains to this CA bundle (mTLS). */
  caCertFile?: string;
}

/** zot's access-control actions: pull = read; push of a new tag = create, of an existing one = update. */
export const ACCESS_ACTIONS = ["read", "create", "update", "delete"] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

/** Who (users, or members of groups) may do which actions. */
export interface AccessRule {
  users: string[];
  groups: string[];
  actions: AccessAction[];
}

export interface RepositoryAccess {
  policies: AccessRule[];
  /** Actions of every authenticated user. */
  defaultPolicy: AccessAction[];
  /** Actions of requests without credentials. */
  anonymousPolicy: AccessAction[];
}

/** zot's `http.accessControl`. */
export interface AccessControlSettings {
  /** Keyed by repository glob; the longest glob that matches a repository decides for it. */
  repositories: Record<string, RepositoryAccess>;
  /** Applies to every repository, after the repository's own policy said no. */
  adminPolicy: AccessRule;
  /** Group name → its users. */
  groups: Record<string, string[]>;
  /** Set = only these authenticated users may read `/metrics`; unset = `/metrics` is open. */
  metricsUsers?: string[];
}

/** zot's `http.auth.bearer`: tokens issued by an external token service (Docker token spec). */
export interface BearerSettings {
  /** Token service URL clients are sent to (`WWW-Authenticate: Bearer realm=…`). */
  realm: string;
  /** This registry's name at the token service: the `service` parameter and the tokens' `aud`. */
  service: string;
  /** PEM certificate (or public key) whose key signs the tokens. */
  certFile: string;
}

/** zot's `http.auth.ldap`: users checked by a bind against a directory. */
export interface LdapSettings {
  /** `ldap://host:port` (insecure or StartTLS) or `ldaps://host:port`. */
  url: string;
  /** Upgrade the `ldap://` connection with StartTLS before binding. */
  startTLS: boolean;
  /** Accept any server certificate (zot's skipVerify); for tests only. */
  skipVerify: boolean;
  /** CA bundle the directory's certificate must chain to; unset = the system's CAs. */
  caCertFile?: string;
  baseDN: string;
  /** Search the whole subtree under baseDN, not only its direct children. */
  subtreeSearch: boolean;
  /** Attribute holding the user name (`uid`, `sAMAccountName`). */
  userAttribute: string;
  /** Attribute whose values are the user's groups for accessControl (`memberOf`, `ou`). */
  userGroupAttribute?: string;
  /** Extra LDAP filter a user entry must match, e.g. `(objectClass=person)`. */
  userFilter?: string;
  /** Search account; unset = anonymous search. */
  bindDN?: string;
  bindPassword?: string;
}

export interface GcSettings {
  /** The registry collects every `intervalMs`; `berth gc` runs whatever this says. */
  enable: boolean;
  /** Blobs and untagged manifests younger than this are never removed. */
  delayMs: number;
  intervalMs: number;
}

export interface BerthConfig {
  distSpecVersion: string;
  storage: {
    rootDirectory: string;
    /** false only in benchmarks: directory fsyncs off (a power loss can lose acknowledged writes). Absent = true. */
    fsyncDirectories?: boolean;
    /** `/healthz` reports low disk below this many free bytes; 0 = never. */
    minFreeBytes: number;
    /** Garbage collection (zot's storage.gc, gcDelay, gcInterval). Absent = defaults (off). */
    gc?: GcSettings;
    /** Upload sessions untouched this long are removed. Absent = 168h. */
    uploadMaxAgeMs?: number;
  };
  http: ListenSettings & {
    tls?: ListenerTls;
    auth: RegistryAuthSettings;
    accessControl?: AccessControlSettings;
    limits: HttpLimits;
    /** `/metrics` asks for credentials too (any authenticated user). */
    metricsAuth: boolean;
  };
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
  /** Hot reload: besides SIGHUP, a change of the config file's content reloads it when `watch`. */
  reload: { watch: boolean };
  /** Each worker app's own /metrics + /healthz listener. Port 0 = any free port. */
  workers: { http: ListenSettings; nats: ListenSettings };
}

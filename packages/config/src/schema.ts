/**
 * The top-level config schema (convict): every key with its doc, format, default and, where an
 * operator would override it per deployment, an env name. Secrets are `sensitive`. Input
 * spellings are zot's; the resolved BerthConfig is built from these values by parse-config.ts.
 * Sink attributes live in sink-validation.ts (convict cannot give exact paths inside arrays).
 */
import * as D from "./defaults.js";
import { formatDuration } from "./duration.js";
import type { FormatName } from "./formats.js";

export interface SchemaLeaf {
  doc: string;
  format: FormatName;
  default: unknown;
  env?: string;
  sensitive?: boolean;
}

export interface SchemaNode {
  [key: string]: SchemaLeaf | SchemaNode;
}

export function isSchemaLeaf(node: SchemaLeaf | SchemaNode): node is SchemaLeaf {
  return "default" in node && "format" in node;
}

export const CONFIG_SCHEMA = {
  distSpecVersion: {
    doc: "OCI Distribution Spec version the registry implements (zot key; informational).",
    format: "berth-string",
    default: D.DEFAULT_DIST_SPEC_VERSION,
  },
  storage: {
    rootDirectory: {
      doc: "Directory of the registry's OCI image layout store. Required.",
      format: "berth-required-path",
      default: "",
      env: "BERTH_STORAGE_ROOT",
    },
    fsyncDirectories: {
      doc:
        "fsync a directory after each rename or new entry in it, so an acknowledged push survives a power loss. " +
        "false is for benchmarks only: a power loss can then lose pushes the registry acknowledged.",
      format: "berth-boolean",
      default: true,
    },
    minFreeBytes: {
      doc: "`/healthz` reports the storage disk as low (503) with fewer free bytes than this; 0 = never.",
      format: "berth-count",
      default: D.DEFAULT_MIN_FREE_BYTES,
    },
    gc: {
      doc: "Garbage collection (zot key): blobs no manifest of their repository needs, and untagged manifests nothing refers to, are removed once older than gcDelay, every gcInterval. Default false (zot: true).",
      format: "berth-boolean",
      default: D.DEFAULT_GC.enable,
    },
    gcDelay: {
      doc: "Garbage collection spares blobs and untagged manifests younger than this, so a push in progress keeps its blobs (zot key).",
      format: "berth-positive-duration",
      default: formatDuration(D.DEFAULT_GC.delayMs),
    },
    gcInterval: {
      doc: "How often the registry collects garbage when gc is true (zot key).",
      format: "berth-positive-duration",
      default: formatDuration(D.DEFAULT_GC.intervalMs),
    },
    uploadMaxAge: {
      doc: "Upload sessions untouched for this long are removed with their bytes (Distribution purges after 168h).",
      format: "berth-positive-duration",
      default: formatDuration(D.DEFAULT_UPLOAD_MAX_AGE_MS),
    },
  },
  http: {
    address: {
      doc: "Address the registry listens on.",
      format: "berth-string",
      default: D.DEFAULT_HTTP_ADDRESS,
    },
    port: {
      doc: 'Port the registry listens on; a number or a numeric string ("8080") as zot writes it.',
      format: "berth-port",
      default: D.DEFAULT_HTTP_PORT,
      env: "BERTH_HTTP_PORT",
    },
    tls: {
      cert: {
        doc: "Server certificate (PEM, chain allowed) of the registry listener; with `key` the registry speaks HTTPS only.",
        format: "berth-optional-path",
        default: undefined,
      },
      key: {
        doc: "Private key (PEM) of `cert`.",
        format: "berth-optional-path",
        default: undefined,
      },
      cacert: {
        doc: "CA bundle (PEM) client certificates must chain to; set = every client must present one (mTLS).",
        format: "berth-optional-path",
        default: undefined,
      },
    },
    auth: {
      htpasswd: {
        path: {
          doc: "htpasswd file (bcrypt) guarding the registry API; unset = no auth.",
          format: "berth-optional-path",
          default: undefined,
        },
      },
      ldap: {
        address: { doc: "Directory server host name or address.", format: "berth-optional-string", default: undefined },
        port: { doc: "Directory server port; default 636 (LDAPS) or 389 (insecure, StartTLS).", format: "berth-optional-port", default: undefined },
        insecure: { doc: "Plain LDAP without TLS (credentials travel in clear).", format: "berth-boolean", default: false },
        startTLS: { doc: "Upgrade a plain LDAP connection with StartTLS (unset and not insecure: LDAPS).", format: "berth-boolean", default: false },
        skipVerify: { doc: "Do not verify the directory's certificate.", format: "berth-boolean", default: false },
        cacert: { doc: "CA bundle the directory's certificate must chain to.", format: "berth-optional-path", default: undefined },
        baseDN: { doc: "Where users are searched.", format: "berth-optional-string", default: undefined },
        subtreeSearch: { doc: "Search the whole subtree under baseDN.", format: "berth-boolean", default: false },
        userAttribute: { doc: "Attribute holding the user name (uid, sAMAccountName).", format: "berth-optional-string", default: undefined },
        userGroupAttribute: { doc: "Attribute whose values are the user's groups (memberOf).", format: "berth-optional-string", default: undefined },
        userFilter: { doc: "Extra filter a user entry must match.", format: "berth-optional-string", default: undefined },
        credentialsFile: { doc: "JSON file with bindDN and bindPassword of the search account.", format: "berth-optional-path", default: undefined },
        bindDN: { doc: "Search account DN (older zot configs; prefer credentialsFile).", format: "berth-optional-string", default: undefined },
        bindPassword: { doc: "Search account password.", format: "berth-secret", default: undefined, sensitive: true },
      },
      bearer: {
        realm: {
          doc: "Token service URL clients get their bearer tokens from.",
          format: "berth-optional-http-url",
          default: undefined,
        },
        service: {
          doc: "This registry's name at the token service (the tokens' audience).",
          format: "berth-optional-string",
          default: undefined,
        },
        cert: {
          doc: "PEM certificate or public key of the token service's signing key.",
          format: "berth-optional-path",
          default: undefined,
        },
      },
      bcryptWorkers: {
        doc: "Worker threads that run bcrypt password checks, off the event loop.",
        format: "berth-positive-integer",
        default: D.DEFAULT_BCRYPT_WORKERS,
      },
      failedAttempts: {
        limit: {
          doc: "Failed logins per client address and window before it gets 429 with Retry-After.",
          format: "berth-positive-integer",
          default: D.DEFAULT_FAILED_ATTEMPTS.limit,
        },
        window: {
          doc: "Window of failedAttempts.limit; a refused address may try again when it ends.",
          format: "berth-duration",
          default: formatDuration(D.DEFAULT_FAILED_ATTEMPTS.windowMs),
        },
      },
    },
    accessControl: {
      doc: "zot's per-repository access control; see the access control table.",
      format: "berth-access-control",
      default: undefined,
    },
    headerTimeout: {
      doc: "The request line and headers must arrive within this.",
      format: "berth-positive-duration",
      default: formatDuration(D.DEFAULT_HTTP_LIMITS.headerTimeoutMs),
    },
    idleTimeout: {
      doc: "A keep-alive connection idle between requests is closed after this.",
      format: "berth-positive-duration",
      default: formatDuration(D.DEFAULT_HTTP_LIMITS.idleTimeoutMs),
    },
    bodyMinRate: {
      doc: "Bytes per second a request body must average over each bodyRateWindow, or the connection is cut; 0 = no minimum.",
      format: "berth-count",
      default: D.DEFAULT_HTTP_LIMITS.bodyMinBytesPerSecond,
    },
    bodyRateWindow: {
      doc: "The window bodyMinRate is averaged over.",
      format: "berth-positive-duration",
      default: formatDuration(D.DEFAULT_HTTP_LIMITS.bodyRateWindowMs),
    },
    stallTimeout: {
      doc: "A response whose bytes wait for the client and none is taken for this long closes the connection (downloads nobody reads).",
      format: "berth-positive-duration",
      default: formatDuration(D.DEFAULT_HTTP_LIMITS.stallTimeoutMs),
    },
    maxInFlight: {
      doc: "API requests in flight beyond this are answered 429; /healthz and /metrics are not counted.",
      format: "berth-positive-count",
      default: D.DEFAULT_HTTP_LIMITS.maxInFlight,
    },
    maxBufferedBodyBytes: {
      doc: "Bytes of request bodies held in memory at once (manifest PUTs); further PUTs wait their turn.",
      format: "berth-positive-count",
      default: D.DEFAULT_HTTP_LIMITS.maxBufferedBodyBytes,
    },
    metricsAuth: {
      doc: "Ask for the registry's htpasswd credentials on /metrics too (needs http.auth.htpasswd.path).",
      format: "berth-boolean",
      default: false,
    },
  },
  log: {
    level: {
      doc: "Log level.",
      format: "berth-log-level",
      default: D.DEFAULT_LOG_LEVEL,
      env: "BERTH_LOG_LEVEL",
    },
    output: {
      doc: "Log file; unset = standard output.",
      format: "berth-optional-path",
      default: undefined,
    },
  },
  extensions: {
    lint: {
      enable: {
        doc: "Reject manifests that miss a mandatory annotation (emits image.lint_failed).",
        format: "berth-boolean",
        default: false,
      },
      mandatoryAnnotations: {
        doc: "Annotation keys every pushed manifest must carry when lint is enabled.",
        format: "berth-string-list",
        default: [],
      },
    },
    events: {
      enable: {
        doc: "Emit registry events to the sinks.",
        format: "berth-boolean",
        default: false,
      },
      source: {
        doc: "CloudEvents `source` of every event.",
        format: "berth-string",
        default: D.DEFAULT_EVENT_SOURCE,
      },
      typePrefix: {
        doc: "Namespace of CloudEvents `type`: `<typePrefix>.image.updated`.",
        format: "berth-string",
        default: D.DEFAULT_TYPE_PREFIX,
      },
      maxManifestBytes: {
        doc: "Manifests larger than this are left out of events (manifestomitted: size); 0 = no limit. A sink's own maxManifestBytes wins.",
        format: "berth-count",
        default: 0,
      },
      sinks: {
        doc: "Where events are delivered; see the sink attribute table.",
        format: "berth-sinks",
        default: [],
      },
      log: {
        maxAge: {
          doc: "How long the event log keeps an event for `berth events list/replay` (trimmed as events are added).",
          format: "berth-duration",
          default: D.DEFAULT_EVENT_LOG_MAX_AGE,
        },
        maxEvents: {
          doc: "Most events the event log keeps (about; 0 = no event log).",
          format: "berth-count",
          default: D.DEFAULT_EVENT_LOG_MAX_EVENTS,
        },
        maxManifestBytes: {
          doc: "Manifests larger than this are kept out of the event log (manifestomitted: size; `berth events replay` puts them back from storage for a sink that takes manifests); 0 = no limit. The log never keeps a manifest that every sink of the event left out.",
          format: "berth-count",
          default: D.DEFAULT_EVENT_LOG_MAX_MANIFEST_BYTES,
        },
      },
    },
  },
  queue: {
    redis: {
      doc: "Redis of the BullMQ outbox: a URL (redis:// or rediss://; may carry a password), or an object with `sentinels` or `cluster` (redis-topology.ts reads the object form).",
      format: "berth-redis-url",
      default: D.DEFAULT_REDIS_URL,
      env: "BERTH_REDIS_URL",
      sensitive: true,
    },
    prefix: {
      doc: "BullMQ key prefix; lets several Berth installations share one Redis.",
      format: "berth-string",
      default: D.DEFAULT_QUEUE_PREFIX,
      env: "BERTH_QUEUE_PREFIX",
    },
    durability: {
      minReplicas: {
        doc: "Replicas that must confirm each enqueue (Redis WAIT) before the registry answers; unconfirmed events are journaled.",
        format: "berth-count",
        default: D.DEFAULT_MIN_REPLICAS,
        env: "BERTH_REDIS_MIN_REPLICAS",
      },
      timeout: {
        doc: "How long the registry waits for those replicas before journaling the event instead.",
        format: "berth-positive-duration",
        default: formatDuration(D.DEFAULT_DURABILITY_TIMEOUT_MS),
        env: "BERTH_REDIS_DURABILITY_TIMEOUT",
      },
    },
  },
  dashboard: {
    address: {
      doc: "Address the dashboard listens on.",
      format: "berth-string",
      default: D.DEFAULT_DASHBOARD_ADDRESS,
    },
    port: {
      doc: "Port the dashboard listens on.",
      format: "berth-port",
      default: D.DEFAULT_DASHBOARD_PORT,
    },
    auth: {
      htpasswd: {
        doc: "htpasswd file (bcrypt) of dashboard users: { path } as http.auth.htpasswd, or the path alone.",
        format: "berth-optional-path",
        default: undefined,
      },
      username: {
        doc: "Single dashboard user (with password or passwordFile).",
        format: "berth-optional-string",
        default: undefined,
      },
      password: {
        doc: "Password of `username`.",
        format: "berth-secret",
        default: undefined,
        env: "BERTH_DASHBOARD_PASSWORD",
        sensitive: true,
      },
      passwordFile: {
        doc: "File holding the password of `username` (trailing newline ignored).",
        format: "berth-optional-path",
        default: undefined,
      },
      anonymous: {
        doc: "Serve the dashboard without auth; must be set explicitly.",
        format: "berth-boolean",
        default: false,
      },
      readOnly: {
        doc: "Hide retry/replay/purge actions.",
        format: "berth-boolean",
        default: false,
      },
    },
  },
  reload: {
    watch: {
      doc: "Re-read the config file when it changes on disk, as on SIGHUP (editors' atomic saves and Kubernetes ConfigMap updates included).",
      format: "berth-boolean",
      default: true,
    },
  },
  workers: {
    http: {
      address: {
        doc: "worker-http's /metrics and /healthz listener address.",
        format: "berth-string",
        default: D.DEFAULT_WORKER_ADDRESS,
      },
      port: {
        doc: "worker-http's /metrics and /healthz port (0 = any free port).",
        format: "berth-port",
        default: D.DEFAULT_WORKER_HTTP_PORT,
      },
    },
    nats: {
      address: {
        doc: "worker-nats's /metrics and /healthz listener address.",
        format: "berth-string",
        default: D.DEFAULT_WORKER_ADDRESS,
      },
      port: {
        doc: "worker-nats's /metrics and /healthz port (0 = any free port).",
        format: "berth-port",
        default: D.DEFAULT_WORKER_NATS_PORT,
      },
    },
  },
} satisfies SchemaNode;

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
    auth: {
      htpasswd: {
        path: {
          doc: "htpasswd file (bcrypt) guarding the registry API; unset = no auth.",
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
        doc: "htpasswd file (bcrypt) of dashboard users.",
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

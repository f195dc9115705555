/**
 * parseConfig: raw JSON value in, validated BerthConfig out, or a ConfigError listing every
 * problem. Steps: canonical key spellings (key-case) -> convict merges defaults and env ->
 * every top-level value checked against its format -> each sink validated -> secrets and
 * files resolved -> cross-field rules.
 */
import { describeValue } from "./describe-value.js";
import convict from "convict";
import { ConfigError } from "./config-error.js";
import { parseDuration } from "./duration.js";
import { resolvePath } from "./files.js";
import { registerFormats } from "./formats.js";
import { canonicalizeKeys, isPlainObject } from "./key-case.js";
import { CONFIG_SHAPE } from "./key-tree.js";
import { CONFIG_SCHEMA } from "./schema.js";
import { validateSchema } from "./schema-validation.js";
import { resolveSecret } from "./secrets.js";
import { clusterSafePrefix, resolveRedisTopology } from "./redis-topology.js";
import { SINKS_PATH, validateSinks } from "./sink-validation.js";
import { type ResolveContext, readableFile, resolveRegistryAuth, resolveListenerTls, type RegistryAuthValues } from "./registry-auth.js";
import type { BerthConfig, HttpLimits, LogLevel } from "./types.js";

export type Env = Record<string, string | undefined>;

export interface ParseOptions {
  /** Variables for overrides (BERTH_*); the package never reads process.env itself. */
  env?: Env;
  /** Directory relative file paths resolve against: the config file's directory. */
  baseDir?: string;
}

export interface ParsedConfig {
  config: BerthConfig;
  warnings: string[];
}

/** The schema's values as convict returns them (input spellings, defaults filled in). */
interface SchemaValues {
  distSpecVersion: string;
  storage: {
    rootDirectory: string;
    fsyncDirectories: boolean;
    minFreeBytes: number;
    gc: boolean;
    gcDelay: string;
    gcInterval: string;
    uploadMaxAge: string;
  };
  http: {
    address: string;
    port: number;
    headerTimeout: string;
    idleTimeout: string;
    bodyMinRate: number;
    bodyRateWindow: string;
    stallTimeout: string;
    maxInFlight: number;
    maxBufferedBodyBytes: number;
    metricsAuth: boolean;
  } & RegistryAuthValues & {
    auth: { bcryptWorkers: number; failedAttempts: { limit: number; window: string } };
  };
  log: { level: LogLevel; output?: string };
  extensions: {
    lint: { enable: boolean; mandatoryAnnotations: string[] };
    events: { enable: boolean; source: string; typePrefix: string; maxManifestBytes: number; sinks: unknown[]; log: { maxAge: string; maxEvents: number; maxManifestBytes: number } };
  };
  queue: { redis: string; prefix: string; durability: { minReplicas: number; timeout: string } };
  dashboard: {
    address: string;
    port: number;
    auth: { htpasswd?: string; username?: string; anonymous: boolean; readOnly: boolean };
  };
  reload: { watch: boolean };
  workers: { http: { address: string; port: number }; nats: { address: string; port: number } };
}

type Findings = ResolveContext;

export function parseConfig(raw: unknown, opts: ParseOptions = {}): ParsedConfig {
  const env = opts.env ?? {};
  const ctx: Findings = { env, baseDir: opts.baseDir ?? process.cwd(), problems: [], warnings: [] };
  const canonical = canonicalizeKeys(raw ?? {}, CONFIG_SHAPE);
  ctx.problems.push(...canonical.problems);
  ctx.warnings.push(...canonical.warnings);
  const { input, redisObject } = withoutRedisObject(dashboardHtpasswdAsPath(isPlainObject(canonical.value) ? canonical.value : {}, ctx));
  // convict walks into object values and breaks on maps keyed by globs: the block skips convict
  // and is checked by access-control-validation.ts alone.
  const { accessControl, ...http } = dig(input, "http");

  registerFormats();
  // `args: []` keeps convict away from process.argv; `env` replaces process.env.
  const schema = convict(CONFIG_SCHEMA as unknown as convict.Schema<SchemaValues>, { env, args: [] });
  schema.load({ ...input, http });
  const values = schema.getProperties();
  ctx.problems.push(...validateSchema(CONFIG_SCHEMA, values as unknown as Record<string, unknown>, env));

  const events = values.extensions.events;
  const maxManifestBytes = Number.isInteger(events.maxManifestBytes) && events.maxManifestBytes >= 0 ? events.maxManifestBytes : 0;
  const sinks = validateSinks(Array.isArray(events.sinks) ? events.sinks : [], ctx, { maxManifestBytes });
  if (!events.enable && events.sinks.length > 0) {
    ctx.warnings.push(`extensions.events.enable: false, so the ${SINKS_PATH} configured are not used`);
  }
  const config = resolve(values, input, sinks, redisObject, accessControl, ctx);
  // A value checked by both the schema and secret resolution reports one identical line once.
  if (ctx.problems.length > 0) throw new ConfigError([...new Set(ctx.problems)]);
  return { config, warnings: ctx.warnings };
}

function resolve(
  values: SchemaValues,
  input: Record<string, unknown>,
  sinks: BerthConfig["extensions"]["events"]["sinks"],
  redisObject: Record<string, unknown> | undefined,
  accessControl: unknown,
  ctx: Findings,
): BerthConfig {
  const redis = resolveRedisTopology(values.queue.redis, redisObject, ctx);
  return {
    distSpecVersion: values.distSpecVersion,
    storage: {
      rootDirectory: pathOrEmpty(values.storage.rootDirectory, ctx),
      fsyncDirectories: values.storage.fsyncDirectories,
      minFreeBytes: values.storage.minFreeBytes,
      gc: {
        enable: values.storage.gc,
        delayMs: parseDuration(values.storage.gcDelay) ?? 0,
        intervalMs: parseDuration(values.storage.gcInterval) ?? 0,
      },
      uploadMaxAgeMs: parseDuration(values.storage.uploadMaxAge) ?? 0,
    },
    http: {
      address: values.http.address,
      port: values.http.port,
      ...resolveListenerTls(values.http.tls, ctx),
      ...registryAuth(values.http, accessControl, input, ctx),
      limits: httpLimits(values.http),
      metricsAuth: metricsAuth(values.http, input, ctx),
    },
    log: {
      level: values.log.level,
      ...(typeof values.log.output === "string" ? { output: resolvePath(ctx.baseDir, values.log.output) } : {}),
    },
    extensions: {
      lint: values.extensions.lint,
      events: {
        enable: values.extensions.events.enable,
        source: values.extensions.events.source,
        typePrefix: values.extensions.events.typePrefix,
        maxManifestBytes: values.extensions.events.maxManifestBytes,
        sinks,
        log: {
          maxAgeMs: parseDuration(values.extensions.events.log.maxAge) ?? 0,
          maxEvents: values.extensions.events.log.maxEvents,
          maxManifestBytes: values.extensions.events.log.maxManifestBytes,
        },
      },
    },
    queue: {
      // A topology with a problem has been reported; the placeholder never leaves parseConfig.
      redis: redis ?? { kind: "standalone", url: "" },
      prefix: clusterSafePrefix(values.queue.prefix, redis),
      durability: {
        minReplicas: values.queue.durability.minReplicas,
        timeoutMs: parseDuration(values.queue.durability.timeout) ?? 0,
      },
    },
    dashboard: {
      address: values.dashboard.address,
      port: values.dashboard.port,
      auth: resolveDashboardAuth(values.dashboard.auth, input, ctx),
    },
    reload: values.reload,
    workers: values.workers,
  };
}

/**
 * convict cannot hold an object in a leaf, so the Sentinel and Cluster forms of `queue.redis`
 * are taken out of its input here (convict then fills in the default URL, which is not used).
 */
/**
 * `dashboard.auth.htpasswd` takes the file as a path string (its first form) or as `{ path }`, the
 * shape of http.auth.htpasswd (zot's), so one htpasswd block can be copied between the two.
 */
function dashboardHtpasswdAsPath(input: Record<string, unknown>, ctx: Findings): Record<string, unknown> {
  const dashboard = input.dashboard;
  if (!isPlainObject(dashboard) || !isPlainObject(dashboard.auth) || !isPlainObject(dashboard.auth.htpasswd)) return input;
  const { path, ...rest } = dashboard.auth.htpasswd;
  if (typeof path !== "string" || Object.keys(rest).length > 0) {
    ctx.problems.push(`dashboard.auth.htpasswd: ${describeValue(dashboard.auth.htpasswd)} must be a path or { path: <file> } (as http.auth.htpasswd)`);
    return { ...input, dashboard: { ...dashboard, auth: { ...dashboard.auth, htpasswd: undefined } } };
  }
  return { ...input, dashboard: { ...dashboard, auth: { ...dashboard.auth, htpasswd: path } } };
}

function withoutRedisObject(input: Record<string, unknown>): {
  input: Record<string, unknown>;
  redisObject?: Record<string, unknown>;
} {
  const queue = input.queue;
  if (!isPlainObject(queue) || !isPlainObject(queue.redis)) return { input };
  const { redis, ...rest } = queue;
  return { input: { ...input, queue: rest }, redisObject: redis };
}

/** zot's auth methods (registry-auth.ts) plus how Berth runs password checks under attack. */
function registryAuth(http: SchemaValues["http"], accessControl: unknown, input: Record<string, unknown>, ctx: Findings) {
  const resolved = resolveRegistryAuth(http, accessControl, dig(input, "http", "auth", "ldap"), ctx);
  const { bcryptWorkers, failedAttempts } = http.auth;
  return {
    ...resolved,
    auth: {
      ...resolved.auth,
      bcryptWorkers,
      failedAttempts: { limit: failedAttempts.limit, windowMs: parseDuration(failedAttempts.window) ?? 0 },
    },
  };
}

// Bad durations were reported by the schema check; 0 stands in so resolving can go on.
const ms = (text: string): number => parseDuration(text) ?? 0;

function httpLimits(http: SchemaValues["http"]): HttpLimits {
  return {
    headerTimeoutMs: ms(http.headerTimeout),
    idleTimeoutMs: ms(http.idleTimeout),
    bodyMinBytesPerSecond: http.bodyMinRate,
    bodyRateWindowMs: ms(http.bodyRateWindow),
    stallTimeoutMs: ms(http.stallTimeout),
    maxInFlight: http.maxInFlight,
    maxBufferedBodyBytes: http.maxBufferedBodyBytes,
  };
}

function metricsAuth(http: SchemaValues["http"], input: Record<string, unknown>, ctx: Findings): boolean {
  const authConfigured =
    http.auth.htpasswd.path !== undefined ||
    http.auth.bearer.realm !== undefined ||
    Object.keys(dig(input, "http", "auth", "ldap")).length > 0 ||
    http.tls.cacert !== undefined;
  if (http.metricsAuth === true && !authConfigured) {
    ctx.problems.push("http.metricsAuth: needs a way to authenticate (http.auth.htpasswd, bearer, ldap or http.tls.cacert)");
  }
  return http.metricsAuth === true;
}

// Path values of the wrong type were already reported by the schema check; resolving them would
// throw a TypeError instead of collecting the problem.
function pathOrEmpty(path: unknown, ctx: Findings): string {
  return typeof path !== "string" || path === "" ? "" : resolvePath(ctx.baseDir, path);
}

function resolveDashboardAuth(
  auth: SchemaValues["dashboard"]["auth"],
  input: Record<string, unknown>,
  ctx: Findings,
): BerthConfig["dashboard"]["auth"] {
  // Inline password and passwordFile are taken from the file as written (before env), so an
  // env override next to a passwordFile is an override, not a conflict.
  const written = dig(input, "dashboard", "auth");
  const password = resolveSecret(
    {
      inlinePath: "dashboard.auth.password",
      inline: written.password,
      filePath: "dashboard.auth.passwordFile",
      file: written.passwordFile,
      envName: "BERTH_DASHBOARD_PASSWORD",
    },
    ctx,
  );
  if (auth.username !== undefined && password === undefined && written.passwordFile === undefined) {
    ctx.problems.push(
      "dashboard.auth.password: required when dashboard.auth.username is set (or set passwordFile, or BERTH_DASHBOARD_PASSWORD)",
    );
  }
  const htpasswdPath = readableFile("dashboard.auth.htpasswd", auth.htpasswd, ctx);
  return {
    ...(htpasswdPath === undefined ? {} : { htpasswdPath }),
    ...(auth.username === undefined ? {} : { username: auth.username }),
    ...(password === undefined ? {} : { password }),
    anonymous: auth.anonymous,
    readOnly: auth.readOnly,
  };
}

function dig(value: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  let node: unknown = value;
  for (const key of keys) node = isPlainObject(node) ? node[key] : undefined;
  return isPlainObject(node) ? node : {};
}

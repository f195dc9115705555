/**
 * parseConfig: raw JSON value in, validated BerthConfig out, or a ConfigError listing every
 * problem. Steps: canonical key spellings (key-case) -> convict merges defaults and env ->
 * every top-level value checked against its format -> each sink validated -> secrets and
 * files resolved -> cross-field rules.
 */
import convict from "convict";
import { ConfigError } from "./config-error.js";
import { readConfigFile, resolvePath } from "./files.js";
import { registerFormats } from "./formats.js";
import { canonicalizeKeys, isPlainObject } from "./key-case.js";
import { CONFIG_SHAPE } from "./key-tree.js";
import { CONFIG_SCHEMA } from "./schema.js";
import { validateSchema } from "./schema-validation.js";
import { parseDuration } from "./duration.js";
import { resolveSecret } from "./secrets.js";
import { SINKS_PATH, validateSinks } from "./sink-validation.js";
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
  storage: { rootDirectory: string; fsyncDirectories: boolean; minFreeBytes: number };
  http: {
    address: string;
    port: number;
    auth: { htpasswd: { path?: string } };
    headerTimeout: string;
    idleTimeout: string;
    bodyMinRate: number;
    bodyRateWindow: string;
    stallTimeout: string;
    maxInFlight: number;
    maxBufferedBodyBytes: number;
    metricsAuth: boolean;
  };
  log: { level: LogLevel; output?: string };
  extensions: {
    lint: { enable: boolean; mandatoryAnnotations: string[] };
    events: { enable: boolean; source: string; typePrefix: string; sinks: unknown[] };
  };
  queue: { redis: string; prefix: string };
  dashboard: {
    address: string;
    port: number;
    auth: { htpasswd?: string; username?: string; anonymous: boolean; readOnly: boolean };
  };
  workers: { http: { address: string; port: number }; nats: { address: string; port: number } };
}

interface Findings {
  env: Env;
  baseDir: string;
  problems: string[];
  warnings: string[];
}

export function parseConfig(raw: unknown, opts: ParseOptions = {}): ParsedConfig {
  const env = opts.env ?? {};
  const ctx: Findings = { env, baseDir: opts.baseDir ?? process.cwd(), problems: [], warnings: [] };
  const canonical = canonicalizeKeys(raw ?? {}, CONFIG_SHAPE);
  ctx.problems.push(...canonical.problems);
  ctx.warnings.push(...canonical.warnings);
  const input = isPlainObject(canonical.value) ? canonical.value : {};

  registerFormats();
  // `args: []` keeps convict away from process.argv; `env` replaces process.env.
  const schema = convict(CONFIG_SCHEMA as unknown as convict.Schema<SchemaValues>, { env, args: [] });
  schema.load(input);
  const values = schema.getProperties();
  ctx.problems.push(...validateSchema(CONFIG_SCHEMA, values as unknown as Record<string, unknown>, env));

  const events = values.extensions.events;
  const sinks = validateSinks(Array.isArray(events.sinks) ? events.sinks : [], ctx);
  if (!events.enable && events.sinks.length > 0) {
    ctx.warnings.push(`extensions.events.enable: false, so the ${SINKS_PATH} configured are not used`);
  }
  const config = resolve(values, input, sinks, ctx);
  // A value checked by both the schema and secret resolution reports one identical line once.
  if (ctx.problems.length > 0) throw new ConfigError([...new Set(ctx.problems)]);
  return { config, warnings: ctx.warnings };
}

function resolve(
  values: SchemaValues,
  input: Record<string, unknown>,
  sinks: BerthConfig["extensions"]["events"]["sinks"],
  ctx: Findings,
): BerthConfig {
  const htpasswd = readableFile("http.auth.htpasswd.path", values.http.auth.htpasswd.path, ctx);
  return {
    distSpecVersion: values.distSpecVersion,
    storage: {
      rootDirectory: pathOrEmpty(values.storage.rootDirectory, ctx),
      fsyncDirectories: values.storage.fsyncDirectories,
      minFreeBytes: values.storage.minFreeBytes,
    },
    http: {
      address: values.http.address,
      port: values.http.port,
      auth: htpasswd === undefined ? {} : { htpasswd: { path: htpasswd } },
      limits: httpLimits(values.http),
      metricsAuth: metricsAuth(values.http, ctx),
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
        sinks,
      },
    },
    queue: { redisUrl: values.queue.redis, prefix: values.queue.prefix },
    dashboard: {
      address: values.dashboard.address,
      port: values.dashboard.port,
      auth: resolveDashboardAuth(values.dashboard.auth, input, ctx),
    },
    workers: values.workers,
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

function metricsAuth(http: SchemaValues["http"], ctx: Findings): boolean {
  if (http.metricsAuth === true && !http.auth.htpasswd.path) {
    ctx.problems.push("http.metricsAuth: needs http.auth.htpasswd.path (the users /metrics would accept)");
  }
  return http.metricsAuth === true;
}

// Path values of the wrong type were already reported by the schema check; resolving them would
// throw a TypeError instead of collecting the problem.
function pathOrEmpty(path: unknown, ctx: Findings): string {
  return typeof path !== "string" || path === "" ? "" : resolvePath(ctx.baseDir, path);
}

/** The absolute path when the file is readable; a problem at `at` otherwise. */
function readableFile(at: string, path: unknown, ctx: Findings): string | undefined {
  if (typeof path !== "string" || path === "") return undefined;
  const file = resolvePath(ctx.baseDir, path);
  const read = readConfigFile(file);
  if (read.ok) return file;
  ctx.problems.push(`${at}: ${read.problem}`);
  return undefined;
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

/**
 * Reads `queue.redis` in the three forms ioredis and BullMQ users know:
 *
 *   "redis://host:6379/0"                                            one server
 *   { "sentinels": ["host:26379", …], "name": "mymaster", … }         a master behind Sentinel
 *   { "cluster": ["host:7000", …], … }                               a Redis Cluster
 *
 * The object forms never reach convict (it cannot hold an object in a leaf); parse-config.ts
 * takes them out of the input first and hands them here with convict's URL value. Env overrides
 * pick the topology (BERTH_REDIS_CLUSTER, then BERTH_REDIS_SENTINELS, then BERTH_REDIS_URL, then
 * the file) and supply secrets (BERTH_REDIS_PASSWORD, BERTH_REDIS_SENTINEL_PASSWORD).
 */
import * as D from "./defaults.js";
import { describeValue, kindOf } from "./describe-value.js";
import { isPlainObject, joinPath } from "./key-case.js";
import { resolveSecret, type SecretContext } from "./secrets.js";
import type { RedisNode, RedisTopology } from "./types.js";
import * as R from "./value-rules.js";

export const REDIS_PATH = "queue.redis";

export const REDIS_ENV = {
  url: "BERTH_REDIS_URL",
  sentinels: "BERTH_REDIS_SENTINELS",
  sentinelName: "BERTH_REDIS_SENTINEL_NAME",
  cluster: "BERTH_REDIS_CLUSTER",
  password: "BERTH_REDIS_PASSWORD",
  sentinelPassword: "BERTH_REDIS_SENTINEL_PASSWORD",
} as const;

const SENTINEL_KEYS = [
  "sentinels", "name", "username", "password", "passwordFile", "sentinelPassword", "sentinelPasswordFile", "db",
] as const;
const CLUSTER_KEYS = ["cluster", "username", "password", "passwordFile"] as const;

/** `host:port`, `host` (default port) or `[v6 address]:port`. */
const NODE = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/@]+)(?::(\d{1,5}))?$/;

function parseNode(text: string, defaultPort: number): RedisNode | undefined {
  const m = NODE.exec(text);
  if (!m) return undefined;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port };
}

const nodeList =
  (defaultPort: number): R.Rule =>
  (v) => {
    if (!Array.isArray(v) || v.length === 0) {
      return `must be a non-empty array of "host:port" strings, got ${Array.isArray(v) ? "an empty array" : kindOf(v)}`;
    }
    const bad = v
      .map((x, i) => [i, typeof x === "string" && parseNode(x, defaultPort) ? undefined : x] as const)
      .filter(([, x]) => x !== undefined);
    return bad.length === 0
      ? undefined
      : bad.map(([i, x]) => `[${i}]: ${describeValue(x)} is not a "host:port" address (example: redis-1:${defaultPort})`).join("\n");
  };

const fromEnvList = (text: string): string[] =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

interface Source {
  /** Where each key is reported: the file's key path or the env variable. */
  at(key: string): string;
  raw: Record<string, unknown>;
}

/**
 * The resolved topology, or undefined after reporting every problem. `url` is convict's value of
 * `queue.redis` (file string, BERTH_REDIS_URL or the default); `written` is the file's value as
 * written (an object for the Sentinel and Cluster forms).
 */
export function resolveRedisTopology(url: unknown, written: unknown, ctx: SecretContext): RedisTopology | undefined {
  const env = ctx.env;
  const chosen = [REDIS_ENV.cluster, REDIS_ENV.sentinels, REDIS_ENV.url].filter((n) => (env[n] ?? "") !== "");
  if (chosen.length > 1) {
    ctx.problems.push(`${REDIS_PATH}: ${chosen.join(" and ")} are both set (set one: they pick different topologies)`);
    return undefined;
  }
  const fileObject = isPlainObject(written) ? written : undefined;
  if (env[REDIS_ENV.cluster]) {
    return readCluster(envSource(fileObject, "cluster", REDIS_ENV.cluster, fromEnvList(env[REDIS_ENV.cluster]!)), ctx);
  }
  if (env[REDIS_ENV.sentinels]) {
    return readSentinel(envSource(fileObject, "sentinels", REDIS_ENV.sentinels, fromEnvList(env[REDIS_ENV.sentinels]!)), ctx);
  }
  if (fileObject === undefined || env[REDIS_ENV.url]) {
    // Checked (with its path and env name) by the schema; here only its type is needed.
    return typeof url === "string" ? { kind: "standalone", url } : undefined;
  }
  const source: Source = { at: (key) => joinPath(REDIS_PATH, key), raw: fileObject };
  const hasSentinels = "sentinels" in fileObject;
  const hasCluster = "cluster" in fileObject;
  if (hasSentinels === hasCluster) {
    ctx.problems.push(
      `${REDIS_PATH}: ${hasSentinels ? "set sentinels or cluster, not both" : 'an object needs "sentinels" (Redis Sentinel) or "cluster" (Redis Cluster); a single server is a URL string (example: redis://127.0.0.1:6379)'}`,
    );
    return undefined;
  }
  return hasSentinels ? readSentinel(source, ctx) : readCluster(source, ctx);
}

/** The file's object with the node list replaced by an env variable's (reported under its name). */
function envSource(fileObject: Record<string, unknown> | undefined, listKey: string, envName: string, list: string[]): Source {
  // A file written for the other topology contributes nothing: its keys would be unknown here.
  const base = fileObject !== undefined && listKey in fileObject ? fileObject : {};
  return {
    at: (key) => (key === listKey ? envName : joinPath(REDIS_PATH, key)),
    raw: { ...base, [listKey]: list },
  };
}

function unknownKeys(source: Source, allowed: readonly string[], ctx: SecretContext): void {
  for (const key of Object.keys(source.raw)) {
    if (!allowed.includes(key)) {
      ctx.problems.push(`${source.at(key)}: unknown key (allowed here: ${allowed.join(", ")})`);
    }
  }
}

function read(source: Source, key: string, rule: R.Rule, ctx: SecretContext): unknown {
  const found = R.problemsAt(source.at(key), rule(source.raw[key]));
  ctx.problems.push(...found);
  return found.length === 0 ? source.raw[key] : undefined;
}

function secret(source: Source, key: string, envName: string, ctx: SecretContext): string | undefined {
  return resolveSecret(
    { inlinePath: source.at(key), inline: source.raw[key], filePath: source.at(`${key}File`), file: source.raw[`${key}File`], envName },
    ctx,
  );
}

function nodes(value: unknown, defaultPort: number): RedisNode[] {
  return (value as string[]).map((text) => parseNode(text, defaultPort)!);
}

function readSentinel(source: Source, ctx: SecretContext): RedisTopology | undefined {
  const before = ctx.problems.length;
  unknownKeys(source, SENTINEL_KEYS, ctx);
  const list = read(source, "sentinels", nodeList(D.DEFAULT_SENTINEL_PORT), ctx);
  const envName = ctx.env[REDIS_ENV.sentinelName];
  const name = envName ? envName : read(source, "name", R.required("the master group name the sentinels monitor, e.g. mymaster", R.nonEmptyString), ctx);
  const username = read(source, "username", R.optional(R.nonEmptyString), ctx);
  const db = read(source, "db", R.optional(R.integerAtLeast(0)), ctx);
  const password = secret(source, "password", REDIS_ENV.password, ctx);
  const sentinelPassword = secret(source, "sentinelPassword", REDIS_ENV.sentinelPassword, ctx);
  if (ctx.problems.length > before) return undefined;
  return {
    kind: "sentinel",
    sentinels: nodes(list, D.DEFAULT_SENTINEL_PORT),
    name: name as string,
    ...(username === undefined ? {} : { username: username as string }),
    ...(password === undefined ? {} : { password }),
    ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
    db: (db as number | undefined) ?? 0,
  };
}

function readCluster(source: Source, ctx: SecretContext): RedisTopology | undefined {
  const before = ctx.problems.length;
  unknownKeys(source, CLUSTER_KEYS, ctx);
  const list = read(source, "cluster", nodeList(D.DEFAULT_REDIS_PORT), ctx);
  const username = read(source, "username", R.optional(R.nonEmptyString), ctx);
  const password = secret(source, "password", REDIS_ENV.password, ctx);
  if (ctx.problems.length > before) return undefined;
  return {
    kind: "cluster",
    nodes: nodes(list, D.DEFAULT_REDIS_PORT),
    ...(username === undefined ? {} : { username: username as string }),
    ...(password === undefined ? {} : { password }),
  };
}

/**
 * On a Cluster every Berth key must share one hash slot (the outbox adds to several queues in
 * one script call; BullMQ's own scripts touch several keys of a queue), so a prefix without a
 * hash tag is wrapped in one: `berth` → `{berth}`. A prefix that has a tag is kept as written.
 */
export function clusterSafePrefix(prefix: string, topology: RedisTopology | undefined): string {
  if (topology?.kind !== "cluster" || hasHashTag(prefix)) return prefix;
  return `{${prefix}}`;
}

/** Redis Cluster hashes only what lies between the first `{` and the next `}`, when not empty. */
function hasHashTag(key: string): boolean {
  const open = key.indexOf("{");
  if (open < 0) return false;
  const close = key.indexOf("}", open + 1);
  return close > open + 1;
}

/**
 * Validates and resolves each `extensions.events.sinks[i]` with exact paths, zot's attributes
 * plus Berth's (name, filters, retry, mode, jetstream, signing, concurrency, breaker, ordering). Every
 * problem of every sink is collected; a sink with a problem yields no SinkConfig.
 */
import { EVENT_KINDS, PAYLOAD_MODES } from "@berth/events";
import * as D from "./defaults.js";
import { describeValue } from "./describe-value.js";
import { formatDuration, parseDuration } from "./duration.js";
import { readConfigFile, resolvePath } from "./files.js";
import { isPlainObject, joinPath } from "./key-case.js";
import { isSecretHeader } from "./mask.js";
import { resolveSecret, type SecretContext } from "./secrets.js";
import { defaultSinkName, sinkEnvName } from "./sink-name.js";
import { SINK_ORDERINGS, SINK_TYPES, type SinkConfig, type SinkType, type TlsSettings } from "./types.js";
import * as R from "./value-rules.js";

export const SINKS_PATH = "extensions.events.sinks";

export interface SinkContext extends SecretContext {
  warnings: string[];
}

type Raw = Record<string, unknown>;

/** Reads one key of one object, reporting a rule's problems at that key's full path. */
interface Reader {
  path: string;
  raw: Raw;
  get(key: string, rule: R.Rule): unknown;
  sub(key: string): Reader;
}

function reader(raw: Raw, path: string, ctx: SinkContext): Reader {
  return {
    path,
    raw,
    get(key, rule) {
      const found = R.problemsAt(joinPath(path, key), rule(raw[key]));
      ctx.problems.push(...found);
      return found.length === 0 ? raw[key] : undefined;
    },
    sub(key) {
      const value = raw[key];
      return reader(isPlainObject(value) ? value : {}, joinPath(path, key), ctx);
    },
  };
}

const MODES = ["binary", "structured"] as const;

/** A NATS subject to publish to: dot-separated tokens, no whitespace, no wildcards. */
const natsSubject: R.Rule = (v) =>
  typeof v === "string" && /^[^\s.*>]+(\.[^\s.*>]+)*$/.test(v)
    ? undefined
    : `${describeValue(v)} is not a NATS subject to publish to (example: registry.events; no spaces or wildcards)`;

const sinkName: R.Rule = (v) =>
  typeof v === "string" && D.SINK_NAME_PATTERN.test(v)
    ? undefined
    : `${describeValue(v)} is not a valid sink name (allowed: ${D.SINK_NAME_PATTERN.source.slice(1, -1)})`;

/** RFC 9110 §5.6.2 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const durationMs = (value: unknown): number | undefined =>
  typeof value === "string" ? parseDuration(value) : undefined;

/** Values a sink takes from `extensions.events` when it does not set its own. */
export interface SinkDefaults {
  maxManifestBytes: number;
}

export function validateSinks(raw: readonly unknown[], ctx: SinkContext, defaults: SinkDefaults = { maxManifestBytes: 0 }): SinkConfig[] {
  const sinks: SinkConfig[] = [];
  const firstIndexOf = new Map<string, number>();
  raw.forEach((item, i) => {
    if (item === undefined) return; // not an object: key-case.ts has reported it
    const path = `${SINKS_PATH}[${i}]`;
    const sink = validateSink(item, path, ctx, defaults);
    if (sink === undefined) return;
    const earlier = firstIndexOf.get(sink.name);
    if (earlier !== undefined) {
      ctx.problems.push(
        `${path}.name: "${sink.name}" is already the name of sinks[${earlier}] (names must be unique; set "name" on one of them)`,
      );
      return;
    }
    firstIndexOf.set(sink.name, i);
    sinks.push(sink);
  });
  return sinks;
}

function validateSink(item: unknown, path: string, ctx: SinkContext, defaults: SinkDefaults): SinkConfig | undefined {
  if (!isPlainObject(item)) {
    ctx.problems.push(`${path}: ${describeValue(item)} must be a sink object`);
    return undefined;
  }
  const before = ctx.problems.length;
  const r = reader(item, path, ctx);
  const type = r.get("type", R.required(`allowed: ${SINK_TYPES.join(", ")}`, R.oneOf(SINK_TYPES))) as
    | SinkType
    | undefined;
  const address = r.get("address", addressRule(type)) as string | undefined;
  const channel = readChannel(r, type, ctx);
  const name = readName(r, type, address, channel);
  const timeoutMs = durationMs(r.get("timeout", R.optional(R.duration)));
  const credentials = readCredentials(r.sub("credentials"), name, ctx);
  const headers = readHeaders(r, ctx);
  const tls = readTls(r.sub("tls"), ctx);
  const proxy = r.get("proxy", R.optional(R.url(["http:", "https:"], "a proxy URL", "http://proxy.internal:3128")));
  if (proxy !== undefined && type === "nats") ctx.warnings.push(`${path}.proxy: ignored for nats sinks`);
  const events = r.get("events", R.optional(R.stringList(R.oneOf(EVENT_KINDS)))) as SinkConfig["events"] | undefined;
  const repositories = r.get("repositories", R.optional(R.stringList())) as string[] | undefined;
  const retry = readRetry(r.sub("retry"), ctx);
  const mode = r.get("mode", R.optional(R.oneOf(MODES))) as SinkConfig["mode"] | undefined;
  const jetstream = r.get("jetstream", R.optional(R.boolean)) as boolean | undefined;
  if (jetstream === true && type === "http") ctx.problems.push(`${path}.jetstream: only for nats sinks`);
  const signingSecret = readSigning(r.sub("signing"), type, name, ctx);
  const concurrency = r.get("concurrency", R.optional(R.integerAtLeast(1))) as number | undefined;
  const breaker = readBreaker(r.sub("breaker"));
  const ordering = r.get("ordering", R.optional(R.oneOf(SINK_ORDERINGS))) as SinkConfig["ordering"] | undefined;
  const payload = r.get("payload", R.optional(R.oneOf(PAYLOAD_MODES))) as SinkConfig["payload"] | undefined;
  const maxManifestBytes = r.get("maxManifestBytes", R.optional(R.integerAtLeast(0))) as number | undefined;

  if (ctx.problems.length > before || !type || !address || !name) return undefined;
  return {
    name,
    type,
    address,
    // zot: "HTTP sinks default to 30s when this value is omitted or non-positive".
    timeoutMs: timeoutMs || (type === "http" ? D.DEFAULT_HTTP_TIMEOUT_MS : D.DEFAULT_NATS_TIMEOUT_MS),
    credentials,
    headers,
    ...(channel === undefined ? {} : { channel }),
    ...(tls === undefined ? {} : { tls }),
    ...(proxy === undefined ? {} : { proxy: proxy as string }),
    events: events ?? [],
    repositories: repositories ?? [],
    retry,
    mode: mode ?? (type === "http" ? D.DEFAULT_HTTP_MODE : D.DEFAULT_NATS_MODE),
    jetstream: jetstream ?? false,
    ...(signingSecret === undefined ? {} : { signingSecret }),
    concurrency: concurrency ?? D.DEFAULT_CONCURRENCY,
    breaker,
    ordering: ordering ?? "none",
    payload: payload ?? "full",
    maxManifestBytes: maxManifestBytes ?? defaults.maxManifestBytes,
  };
}

function addressRule(type: SinkType | undefined): R.Rule {
  if (type === "http") return R.required("an http:// or https:// URL", R.httpUrl);
  if (type === "nats") return R.required("nats://host:port or tls://host:port", R.natsServers);
  return R.required("the sink's URL", R.nonEmptyString);
}

function readChannel(r: Reader, type: SinkType | undefined, ctx: SinkContext): string | undefined {
  if (type === "nats" && r.raw.channel === undefined) {
    ctx.problems.push(`${r.path}.channel: required for nats sinks`);
    return undefined;
  }
  const rule = type === "nats" ? natsSubject : R.optional(R.nonEmptyString);
  return r.get("channel", rule) as string | undefined;
}

function readName(
  r: Reader,
  type: SinkType | undefined,
  address: string | undefined,
  channel: string | undefined,
): string | undefined {
  const explicit = r.get("name", R.optional(sinkName)) as string | undefined;
  if (explicit !== undefined || r.raw.name !== undefined) return explicit;
  return type && address ? defaultSinkName(type, address, channel) : undefined;
}

function readCredentials(r: Reader, name: string | undefined, ctx: SinkContext): SinkConfig["credentials"] {
  const username = r.get("username", R.optional(R.nonEmptyString)) as string | undefined;
  const password = resolveSecret(
    {
      inlinePath: `${r.path}.password`,
      inline: r.raw.password,
      filePath: `${r.path}.passwordFile`,
      file: r.raw.passwordFile,
      envName: name && sinkEnvName(name, "PASSWORD"),
    },
    ctx,
  );
  const token = resolveSecret(
    {
      inlinePath: `${r.path}.token`,
      inline: r.raw.token,
      filePath: `${r.path}.tokenFile`,
      file: r.raw.tokenFile,
      envName: name && sinkEnvName(name, "TOKEN"),
    },
    ctx,
  );
  const file = readPathOfReadableFile(r, "file", ctx);
  // Basic auth (RFC 7617) and NATS user/password both need the user name.
  if (password !== undefined && username === undefined && r.raw.username === undefined) {
    ctx.problems.push(`${r.path}.username: required when a password is set`);
  }
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(token === undefined ? {} : { token }),
    ...(file === undefined ? {} : { file }),
  };
}

function readPathOfReadableFile(r: Reader, key: string, ctx: SinkContext): string | undefined {
  const given = r.get(key, R.optional(R.nonEmptyString)) as string | undefined;
  if (given === undefined) return undefined;
  const file = resolvePath(ctx.baseDir, given);
  const read = readConfigFile(file);
  if (read.ok) return file;
  ctx.problems.push(`${r.path}.${key}: ${read.problem}`);
  return undefined;
}

function readHeaders(r: Reader, ctx: SinkContext): Record<string, string> {
  const raw = r.raw.headers;
  if (raw === undefined) return {};
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw as Raw)) {
    const at = `${r.path}.headers.${name}`;
    if (!HEADER_NAME.test(name)) {
      ctx.problems.push(`${at}: ${describeValue(name)} is not a valid header name (RFC 9110 token)`);
    } else if (typeof value !== "string" || /[\r\n]/.test(value)) {
      const shown = isSecretHeader(name) ? "value not shown" : describeValue(value);
      ctx.problems.push(`${at}: ${shown} must be a string without line breaks`);
    } else headers[name] = value;
  }
  return headers;
}

function readTls(r: Reader, ctx: SinkContext): TlsSettings | undefined {
  const caCertFile = readPathOfReadableFile(r, "caCertFile", ctx);
  const certFile = readPathOfReadableFile(r, "certFile", ctx);
  const keyFile = readPathOfReadableFile(r, "keyFile", ctx);
  // A client certificate is useless without its key and vice versa (mutual TLS needs both).
  if (r.raw.certFile !== undefined && r.raw.keyFile === undefined) {
    ctx.problems.push(`${r.path}.keyFile: required when tls.certFile is set`);
  }
  if (r.raw.keyFile !== undefined && r.raw.certFile === undefined) {
    ctx.problems.push(`${r.path}.certFile: required when tls.keyFile is set`);
  }
  if (!caCertFile && !certFile && !keyFile) return undefined;
  return {
    ...(caCertFile === undefined ? {} : { caCertFile }),
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
  };
}

function readRetry(r: Reader, ctx: SinkContext): SinkConfig["retry"] {
  const attempts = r.get("attempts", R.optional(R.integerAtLeast(1))) as number | undefined;
  const delayMs = durationMs(r.get("delay", R.optional(R.positiveDuration)));
  const maxDelayMs = durationMs(r.get("maxDelay", R.optional(R.positiveDuration)));
  const retry = {
    attempts: attempts ?? D.DEFAULT_RETRY.attempts,
    delayMs: delayMs ?? D.DEFAULT_RETRY.delayMs,
    maxDelayMs: maxDelayMs ?? D.DEFAULT_RETRY.maxDelayMs,
  };
  if (retry.maxDelayMs < retry.delayMs) {
    const shown = (key: string, ms: number) =>
      r.raw[key] === undefined ? `"${formatDuration(ms)}" (default)` : describeValue(r.raw[key]);
    ctx.problems.push(
      `${r.path}.maxDelay: ${shown("maxDelay", retry.maxDelayMs)} is shorter than retry.delay ${shown("delay", retry.delayMs)} (maxDelay caps each wait, so it must be ≥ delay)`,
    );
  }
  return retry;
}

function readSigning(
  r: Reader,
  type: SinkType | undefined,
  name: string | undefined,
  ctx: SinkContext,
): string | undefined {
  if (type === "nats" && (r.raw.secret !== undefined || r.raw.secretFile !== undefined)) {
    ctx.problems.push(`${r.path}: only for http sinks (Standard Webhooks signatures are HTTP headers)`);
    return undefined;
  }
  return resolveSecret(
    {
      inlinePath: `${r.path}.secret`,
      inline: r.raw.secret,
      filePath: `${r.path}.secretFile`,
      file: r.raw.secretFile,
      envName: name && sinkEnvName(name, "SIGNING_SECRET"),
    },
    ctx,
  );
}

function readBreaker(r: Reader): SinkConfig["breaker"] {
  const threshold = r.get("threshold", R.optional(R.integerAtLeast(1))) as number | undefined;
  const cooldownMs = durationMs(r.get("cooldown", R.optional(R.positiveDuration)));
  return {
    threshold: threshold ?? D.DEFAULT_BREAKER.threshold,
    cooldownMs: cooldownMs ?? D.DEFAULT_BREAKER.cooldownMs,
  };
}

/**
 * Secrets never leave the process in clear: every secret in a resolved config becomes "*****"
 * wherever the config is printed or logged, including a password inside a URL.
 */
import type { BerthConfig, RedisTopology, SinkConfig } from "./types.js";

export const MASK = "*****";

/** Header names whose values are credentials (RFC 9110 §11.6.2 Authorization, cookies, API keys). */
const SECRET_HEADER = /authorization|cookie|token|secret|password|api[-_]?key|signature/i;

/** `redis://user:pw@host` -> `redis://user:*****@host`; anything else unchanged. */
export function maskUrlPassword(text: string): string {
  // Greedy up to the last "@" of the authority, so a password containing "@" is masked whole.
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*):[^/\s]*@/i, `$1:${MASK}@`);
}

/** For comma-separated server lists (NATS) as well as single URLs. */
function maskUrlList(text: string): string {
  return text
    .split(",")
    .map((part) => maskUrlPassword(part))
    .join(",");
}

export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name);
}

function maskSecret(value: string | undefined): string | undefined {
  return value === undefined ? undefined : MASK;
}

function maskSink(sink: SinkConfig): SinkConfig {
  const headers = Object.fromEntries(
    Object.entries(sink.headers).map(([k, v]) => [k, isSecretHeader(k) ? MASK : v]),
  );
  return {
    ...sink,
    address: maskUrlList(sink.address),
    credentials: {
      ...sink.credentials,
      password: maskSecret(sink.credentials.password),
      token: maskSecret(sink.credentials.token),
    },
    headers,
    proxy: sink.proxy === undefined ? undefined : maskUrlPassword(sink.proxy),
    signingSecret: maskSecret(sink.signingSecret),
  };
}

function maskRedis(topology: RedisTopology): RedisTopology {
  switch (topology.kind) {
    case "standalone":
      return { ...topology, url: maskUrlPassword(topology.url) };
    case "sentinel":
      return {
        ...topology,
        password: maskSecret(topology.password),
        sentinelPassword: maskSecret(topology.sentinelPassword),
      };
    case "cluster":
      return { ...topology, password: maskSecret(topology.password) };
  }
}

function maskHttp(http: BerthConfig["http"]): BerthConfig["http"] {
  const ldap = http.auth.ldap;
  if (!ldap) return http;
  return { ...http, auth: { ...http.auth, ldap: { ...ldap, bindPassword: maskSecret(ldap.bindPassword) } } };
}

/** A deep copy of `config` with every secret replaced by "*****" (unset secrets stay unset). */
export function maskConfig(config: BerthConfig): unknown {
  const masked: BerthConfig = {
    ...config,
    extensions: {
      ...config.extensions,
      events: { ...config.extensions.events, sinks: config.extensions.events.sinks.map(maskSink) },
    },
    http: maskHttp(config.http),
    queue: { ...config.queue, redis: maskRedis(config.queue.redis) },
    dashboard: {
      ...config.dashboard,
      auth: { ...config.dashboard.auth, password: maskSecret(config.dashboard.auth.password) },
    },
  };
  return JSON.parse(JSON.stringify(masked));
}

/** The masked config as pretty JSON, for `berth config check` and start-up logs. */
export function formatConfig(config: BerthConfig): string {
  return JSON.stringify(maskConfig(config), null, 2);
}

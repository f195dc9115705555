/**
 * One test per bad config: each change to an otherwise valid config must fail with exactly
 * this problem (JSON path, bad value, what is allowed).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { parseConfig } from "./parse-config.js";
import { minimalConfig, sinksOf } from "./test-support/fixtures.js";

type Raw = Record<string, unknown>;
const S = "extensions.events.sinks";

const CASES: { name: string; change: (raw: Raw) => void; problem: string }[] = [
  {
    name: "unknown sink type",
    change: (raw) => (sinksOf(raw)[1]!.type = "kafka"),
    problem: `${S}[1].type: "kafka" is not supported (allowed: http, nats)`,
  },
  {
    name: "sink without type",
    change: (raw) => delete sinksOf(raw)[0]!.type,
    problem: `${S}[0].type: required (allowed: http, nats)`,
  },
  {
    name: "http sink without address",
    change: (raw) => delete sinksOf(raw)[0]!.address,
    problem: `${S}[0].address: required (an http:// or https:// URL)`,
  },
  {
    name: "http sink address that is not an http(s) URL",
    change: (raw) => (sinksOf(raw)[0]!.address = "ftp://files.example.com/x"),
    problem: `${S}[0].address: "ftp://files.example.com/x" is not an http(s) URL (example: https://events.example.com/hook)`,
  },
  {
    name: "nats sink address that is not a NATS URL",
    change: (raw) => (sinksOf(raw)[1]!.address = "nats://ok:4222,http://bad:80"),
    problem: `${S}[1].address: "nats://ok:4222,http://bad:80" is not a NATS address (allowed: nats://host:port, tls://host:port, or a comma-separated list of them)`,
  },
  {
    name: "bad duration",
    change: (raw) => (sinksOf(raw)[0]!.timeout = "fast"),
    problem: `${S}[0].timeout: "fast" is not a duration (examples: 500ms, 1s, 10s)`,
  },
  {
    name: "nats sink without channel",
    change: (raw) => {
      sinksOf(raw).push({ type: "nats", address: "nats://127.0.0.1:4222" });
    },
    problem: `${S}[2].channel: required for nats sinks`,
  },
  {
    name: "nats channel with a wildcard",
    change: (raw) => (sinksOf(raw)[1]!.channel = "events.>"),
    problem: `${S}[1].channel: "events.>" is not a NATS subject to publish to (example: registry.events; no spaces or wildcards)`,
  },
  {
    name: "negative retry attempts",
    change: (raw) => (sinksOf(raw)[0]!.retry = { attempts: -1 }),
    problem: `${S}[0].retry.attempts: -1 must be an integer ≥ 1`,
  },
  {
    name: "retry maxDelay shorter than delay",
    change: (raw) => (sinksOf(raw)[0]!.retry = { delay: "10s", maxDelay: "1s" }),
    problem: `${S}[0].retry.maxDelay: "1s" is shorter than retry.delay "10s" (maxDelay caps each wait, so it must be ≥ delay)`,
  },
  {
    name: "unreadable secret file",
    change: (raw) => (sinksOf(raw)[0]!.credentials = { username: "u", passwordFile: "/nope" }),
    problem: `${S}[0].credentials.passwordFile: cannot read "/nope": ENOENT`,
  },
  {
    name: "password and passwordFile together",
    change: (raw) => (sinksOf(raw)[0]!.credentials = { username: "u", password: "p", passwordFile: "/nope" }),
    problem: `${S}[0].credentials.passwordFile: set password or passwordFile, not both`,
  },
  {
    name: "password without username",
    change: (raw) => (sinksOf(raw)[0]!.credentials = { password: "p" }),
    problem: `${S}[0].credentials.username: required when a password is set`,
  },
  {
    name: "unreadable TLS CA file",
    change: (raw) => (sinksOf(raw)[1]!.tls = { caCertFile: "/nope/ca.pem" }),
    problem: `${S}[1].tls.caCertFile: cannot read "/nope/ca.pem": ENOENT`,
  },
  {
    name: "client certificate without key",
    change: (raw) => (sinksOf(raw)[0]!.tls = { certFile: "/etc/hostname" }),
    problem: `${S}[0].tls.keyFile: required when tls.certFile is set`,
  },
  {
    name: "unknown event kind in the filter",
    change: (raw) => (sinksOf(raw)[0]!.events = ["image.updated", "image.pushed"]),
    problem: `${S}[0].events[1]: "image.pushed" is not supported (allowed: repository.created, image.updated, image.deleted, image.lint_failed)`,
  },
  {
    name: "invalid sink name",
    change: (raw) => (sinksOf(raw)[0]!.name = "Audit Hook"),
    problem: `${S}[0].name: "Audit Hook" is not a valid sink name (allowed: [a-z0-9][a-z0-9_-]{0,62})`,
  },
  {
    name: "duplicate sink name",
    change: (raw) => {
      sinksOf(raw)[0]!.name = "same";
      sinksOf(raw)[1]!.name = "same";
    },
    problem: `${S}[1].name: "same" is already the name of sinks[0] (names must be unique; set "name" on one of them)`,
  },
  {
    name: "unknown delivery mode",
    change: (raw) => (sinksOf(raw)[0]!.mode = "xml"),
    problem: `${S}[0].mode: "xml" is not supported (allowed: binary, structured)`,
  },
  {
    name: "jetstream on an http sink",
    change: (raw) => (sinksOf(raw)[0]!.jetstream = true),
    problem: `${S}[0].jetstream: only for nats sinks`,
  },
  {
    name: "signing on a nats sink",
    change: (raw) => (sinksOf(raw)[1]!.signing = { secret: "whsec_x" }),
    problem: `${S}[1].signing: only for http sinks (Standard Webhooks signatures are HTTP headers)`,
  },
  {
    name: "unknown ordering",
    change: (raw) => (sinksOf(raw)[0]!.ordering = "global"),
    problem: `${S}[0].ordering: "global" is not supported (allowed: none, repository)`,
  },
  {
    name: "zero concurrency",
    change: (raw) => (sinksOf(raw)[0]!.concurrency = 0),
    problem: `${S}[0].concurrency: 0 must be an integer ≥ 1`,
  },
  {
    name: "zero breaker cooldown",
    change: (raw) => (sinksOf(raw)[0]!.breaker = { cooldown: "0s" }),
    problem: `${S}[0].breaker.cooldown: "0s" must be longer than 0s`,
  },
  {
    name: "header value that is not a string",
    change: (raw) => (sinksOf(raw)[0]!.headers = { "X-Count": 5 }),
    problem: `${S}[0].headers.X-Count: 5 must be a string without line breaks`,
  },
  {
    name: "sinks that are not a list",
    change: (raw) => ((raw.extensions as { events: Raw }).events.sinks = { type: "http" }),
    problem: `${S}: {…} must be an array of sink objects`,
  },
  {
    name: "sink that is not an object",
    change: (raw) => (sinksOf(raw)[1] = "nats://127.0.0.1:4222" as unknown as Raw),
    problem: `${S}[1]: "nats://127.0.0.1:4222" must be a sink object`,
  },
  {
    name: "port out of range",
    change: (raw) => (raw.http = { port: 70000 }),
    problem: "http.port: 70000 is not a port (allowed: an integer 0-65535)",
  },
  {
    name: "unknown log level",
    change: (raw) => (raw.log = { level: "loud" }),
    problem: 'log.level: "loud" is not supported (allowed: trace, debug, info, warn, error, fatal)',
  },
  {
    name: "queue.redis that is not a Redis URL",
    change: (raw) => (raw.queue = { redis: "http://127.0.0.1:6379" }),
    problem: 'queue.redis: "http://127.0.0.1:6379" is not a Redis URL (example: redis://127.0.0.1:6379)',
  },
  {
    name: "events.enable that is not a boolean",
    change: (raw) => ((raw.extensions as { events: Raw }).events.enable = "yes"),
    problem: 'extensions.events.enable: "yes" must be true or false',
  },
  {
    name: "section that is not an object",
    change: (raw) => (raw.storage = "/tmp/zot"),
    problem: 'storage: "/tmp/zot" must be an object',
  },
  {
    name: "dashboard user without password",
    change: (raw) => (raw.dashboard = { auth: { username: "admin" } }),
    problem:
      "dashboard.auth.password: required when dashboard.auth.username is set (or set passwordFile, or BERTH_DASHBOARD_PASSWORD)",
  },
  {
    name: "unreadable htpasswd file",
    change: (raw) => (raw.http = { auth: { htpasswd: { path: "/nope/htpasswd" } } }),
    problem: 'http.auth.htpasswd.path: cannot read "/nope/htpasswd": ENOENT',
  },
];

describe("bad configs fail with their precise message", () => {
  for (const { name, change, problem } of CASES) {
    it(name, () => {
      const raw = minimalConfig();
      change(raw);
      let problems: string[] = [];
      try {
        parseConfig(raw, { env: {}, baseDir: "/" });
      } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        problems = err.problems;
      }
      // storage: "…" also makes rootDirectory missing; every other case has exactly one problem.
      assert.ok(problems.includes(problem), `expected:\n  ${problem}\ngot:\n  ${problems.join("\n  ")}`);
      if (name !== "section that is not an object") assert.equal(problems.length, 1, problems.join("\n"));
    });
  }

  it("covers at least 12 distinct bad configs", () => {
    assert.ok(new Set(CASES.map((c) => c.problem)).size >= 12);
  });
});

describe("path values of the wrong type", () => {
  for (const [path, set] of [
    ["storage.rootDirectory", (raw: Raw) => ((raw.storage as Raw).rootDirectory = 0)],
    ["log.output", (raw: Raw) => (raw.log = { level: "info", output: ["x"] })],
    ["http.auth.htpasswd.path", (raw: Raw) => (raw.http = { port: 5000, auth: { htpasswd: { path: true } } })],
  ] as const) {
    it(`${path}: a ConfigError naming the key, never a TypeError`, () => {
      const raw = minimalConfig();
      set(raw);
      assert.throws(
        () => parseConfig(raw),
        (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith(path)),
      );
    });
  }
});

it("an object where a single value belongs is a config problem naming the key (convict would crash)", () => {
  const raw = minimalConfig();
  raw.distSpecVersion = { "": {} };
  assert.throws(
    () => parseConfig(raw),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith("distSpecVersion:")),
  );
});

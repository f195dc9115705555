import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import * as D from "./defaults.js";
import { parseConfig } from "./parse-config.js";
import { EXAMPLES_DIR, minimalConfig, readExample, sinksOf, tempFiles } from "./test-support/fixtures.js";

const examples = { baseDir: EXAMPLES_DIR, env: {} };

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("parseConfig: the seed example", () => {
  it("loads unchanged, with zot's string port and both sinks resolved", () => {
    const { config, warnings } = parseConfig(readExample("seed.json"), examples);
    assert.deepEqual(warnings, []);
    assert.equal(config.http.port, 8080);
    assert.equal(config.log.level, "debug");
    assert.equal(config.storage.rootDirectory, "/tmp/zot");
    assert.equal(config.extensions.events.enable, true);
    const [http, nats] = config.extensions.events.sinks;
    assert.equal(http?.type, "http");
    assert.equal(http?.timeoutMs, 1_000);
    assert.deepEqual(http?.credentials, {
      username: "webhook-user",
      password: "webhook-password",
      token: "optional-bearer-token",
    });
    assert.deepEqual(http?.headers, { "X-Custom-Header": "my-value" });
    assert.equal(http?.mode, "binary");
    assert.equal(nats?.type, "nats");
    assert.equal(nats?.channel, "alerts");
    assert.equal(nats?.timeoutMs, 10_000);
    assert.equal(nats?.mode, "structured");
  });

  it("fills Berth's defaults", () => {
    const { config } = parseConfig(readExample("seed.json"), examples);
    const [http] = config.extensions.events.sinks;
    assert.deepEqual(http?.retry, D.DEFAULT_RETRY);
    assert.deepEqual(http?.breaker, D.DEFAULT_BREAKER);
    assert.equal(http?.concurrency, D.DEFAULT_CONCURRENCY);
    assert.deepEqual(http?.events, []);
    assert.deepEqual(http?.repositories, []);
    assert.equal(http?.jetstream, false);
    assert.equal(http?.ordering, "none");
    assert.equal(http?.payload, "full");
    assert.equal(http?.maxManifestBytes, 0);
    assert.deepEqual(config.http.auth, D.DEFAULT_REGISTRY_AUTH);
    assert.equal(config.extensions.events.source, D.DEFAULT_EVENT_SOURCE);
    assert.equal(config.extensions.events.typePrefix, D.DEFAULT_TYPE_PREFIX);
    assert.deepEqual(config.queue, {
      redis: { kind: "standalone", url: D.DEFAULT_REDIS_URL },
      prefix: D.DEFAULT_QUEUE_PREFIX,
      durability: { minReplicas: D.DEFAULT_MIN_REPLICAS, timeoutMs: D.DEFAULT_DURABILITY_TIMEOUT_MS },
    });
    assert.deepEqual(config.dashboard, {
      address: D.DEFAULT_DASHBOARD_ADDRESS,
      port: D.DEFAULT_DASHBOARD_PORT,
      auth: { anonymous: false, readOnly: false },
    });
    assert.deepEqual(config.workers.http, { address: D.DEFAULT_WORKER_ADDRESS, port: D.DEFAULT_WORKER_HTTP_PORT });
    assert.deepEqual(config.workers.nats, { address: D.DEFAULT_WORKER_ADDRESS, port: D.DEFAULT_WORKER_NATS_PORT });
  });

  it("names sinks deterministically when they have no name", () => {
    const first = parseConfig(readExample("seed.json"), examples).config.extensions.events.sinks;
    const second = parseConfig(readExample("seed.json"), examples).config.extensions.events.sinks;
    assert.match(first[0]!.name, /^http-events-example-com-[0-9a-f]{8}$/);
    assert.match(first[1]!.name, /^nats-127-0-0-1-[0-9a-f]{8}$/);
    assert.deepEqual(
      first.map((s) => s.name),
      second.map((s) => s.name),
    );
  });
});

describe("parseConfig: the example using every attribute", () => {
  it("loads without warnings and resolves every attribute", () => {
    const { config, warnings } = parseConfig(readExample("full.json"), examples);
    assert.deepEqual(warnings, []);
    const [audit, ciHook, chat, bus, alerts] = config.extensions.events.sinks;
    assert.equal(audit?.name, "audit");
    assert.equal(audit?.credentials.password, "audit-basic-secret");
    assert.equal(audit?.signingSecret, "whsec_c2lnbmluZy1zZWNyZXQtZnJvbS1maWxl");
    assert.deepEqual(audit?.tls, {
      caCertFile: join(EXAMPLES_DIR, "files/ca.pem"),
      certFile: join(EXAMPLES_DIR, "files/client.pem"),
      keyFile: join(EXAMPLES_DIR, "files/client-key.pem"),
    });
    assert.deepEqual(audit?.retry, { attempts: 50, delayMs: 2_000, maxDelayMs: 1_800_000 });
    assert.deepEqual(audit?.breaker, { threshold: 5, cooldownMs: 60_000 });
    assert.deepEqual(audit?.events, ["image.updated", "image.deleted"]);
    assert.deepEqual(audit?.repositories, ["prod/**", "team-*/app"]);
    assert.equal(audit?.mode, "structured");
    assert.equal(audit?.concurrency, 8);
    assert.equal(audit?.proxy, "http://proxyuser:proxy-secret@proxy.internal:3128");
    assert.equal(ciHook?.credentials.token, "inline-bearer-token");
    assert.equal(ciHook?.signingSecret, "whsec_aW5saW5lLXNpZ25pbmctc2VjcmV0");
    assert.equal(chat?.credentials.token, "file-bearer-token");
    assert.match(chat?.name ?? "", /^http-chat-example-com-[0-9a-f]{8}$/);
    assert.equal(bus?.jetstream, true);
    assert.equal(bus?.mode, "binary");
    assert.equal(bus?.credentials.file, join(EXAMPLES_DIR, "files/nats.creds"));
    assert.equal(alerts?.credentials.password, "inline-nats-password");
    assert.deepEqual(config.dashboard.auth, {
      htpasswdPath: join(EXAMPLES_DIR, "files/htpasswd"),
      username: "ops",
      password: "dashboard-file-secret",
      anonymous: false,
      readOnly: true,
    });
    assert.equal(config.http.auth.htpasswd?.path, join(EXAMPLES_DIR, "files/htpasswd"));
    assert.deepEqual(config.extensions.lint, { enable: true, mandatoryAnnotations: ["org.opencontainers.image.source"] });
    assert.equal(config.queue.prefix, "berth-prod");
  });

  it("loads the local-stack example with paths resolved against its directory", () => {
    const { config } = parseConfig(readExample("local-stack.json"), examples);
    assert.equal(config.storage.rootDirectory, join(EXAMPLES_DIR, "../../../var/registry"));
    assert.deepEqual(
      config.extensions.events.sinks.map((s) => [s.name, s.type, s.address, s.channel]),
      [
        ["demo-http", "http", "http://127.0.0.1:9200/events", undefined],
        ["demo-nats", "nats", "nats://127.0.0.1:4222", "berth.events"],
      ],
    );
  });
});

describe("parseConfig: zot's spellings", () => {
  it("accepts keys in any case and zot's tlsconfig block", () => {
    const files = tempFiles({ "ca.pem": "ca" });
    try {
      const raw = {
        distspecversion: "1.1.1",
        STORAGE: { rootdirectory: "/tmp/zot" },
        http: { Address: "127.0.0.1", PORT: "8080" },
        log: { LEVEL: "warn" },
        extensions: {
          events: {
            Enable: true,
            typeprefix: "acme",
            sinks: [
              {
                Type: "nats",
                ADDRESS: "nats://127.0.0.1:4222",
                channel: "alerts",
                tlsconfig: { cacertfile: "ca.pem" },
                Credentials: { Username: "u", PASSWORD: "p" },
              },
            ],
          },
        },
      };
      const { config, warnings } = parseConfig(raw, { baseDir: files.dir, env: {} });
      assert.deepEqual(warnings, []);
      assert.equal(config.storage.rootDirectory, "/tmp/zot");
      assert.equal(config.http.port, 8080);
      assert.equal(config.log.level, "warn");
      assert.equal(config.extensions.events.typePrefix, "acme");
      assert.deepEqual(config.extensions.events.sinks[0]?.tls, { caCertFile: join(files.dir, "ca.pem") });
      assert.deepEqual(config.extensions.events.sinks[0]?.credentials, { username: "u", password: "p" });
    } finally {
      files.remove();
    }
  });

  it("keeps header names as written (they are data, not keys)", () => {
    const raw = minimalConfig();
    sinksOf(raw)[0]!.HEADERS = { "X-Mixed-Case": "v" };
    const { config } = parseConfig(raw, { env: {} });
    assert.deepEqual(config.extensions.events.sinks[0]?.headers, { "X-Mixed-Case": "v" });
  });

  it("reports the same key written twice in different case", () => {
    const raw = { storage: { rootDirectory: "/a", rootdirectory: "/b" } };
    assert.deepEqual(problemsOf(() => parseConfig(raw, { env: {} })), [
      "storage.rootdirectory: same key as storage.rootDirectory (keys are case-insensitive); keep one",
    ]);
  });
});

describe("parseConfig: payload and auth limits", () => {
  it("sinks take extensions.events.maxManifestBytes unless they set their own; payload thin per sink", () => {
    const raw = minimalConfig() as { extensions: { events: Record<string, unknown> & { sinks: Record<string, unknown>[] } } };
    raw.extensions.events.maxManifestBytes = 65_536;
    Object.assign(raw.extensions.events.sinks[1]!, { payload: "thin", maxManifestBytes: 0 });
    const { config, warnings } = parseConfig(raw, { env: {} });
    assert.deepEqual(warnings, []);
    const [http, nats] = config.extensions.events.sinks;
    assert.deepEqual([http?.payload, http?.maxManifestBytes], ["full", 65_536]);
    assert.deepEqual([nats?.payload, nats?.maxManifestBytes], ["thin", 0]);
  });

  it("names the key and the allowed values of bad payload, size and auth settings", () => {
    const raw = minimalConfig() as Record<string, unknown> & { extensions: { events: Record<string, unknown> & { sinks: Record<string, unknown>[] } } };
    raw.extensions.events.maxManifestBytes = -1;
    Object.assign(raw.extensions.events.sinks[0]!, { payload: "none", maxManifestBytes: "4MiB" });
    raw.http = { auth: { bcryptWorkers: 0, failedAttempts: { limit: 2.5, window: "soon" } } };
    const problems = problemsOf(() => parseConfig(raw, { env: {} }));
    for (const expected of [
      /^extensions\.events\.maxManifestBytes: .*-1 must be an integer ≥ 0/,
      /^extensions\.events\.sinks\[0\]\.payload: "none" is not supported \(allowed: full, thin\)/,
      /^extensions\.events\.sinks\[0\]\.maxManifestBytes: "4MiB" must be an integer ≥ 0/,
      /^http\.auth\.bcryptWorkers: .*0 must be an integer ≥ 1/,
      /^http\.auth\.failedAttempts\.limit: .*2\.5 must be an integer ≥ 1/,
      /^http\.auth\.failedAttempts\.window: "soon" is not a duration/,
    ]) {
      assert.ok(problems.some((p) => expected.test(p)), `${expected} in\n${problems.join("\n")}`);
    }
  });

  it("reads failedAttempts.window as a duration", () => {
    const raw = { ...minimalConfig(), http: { auth: { bcryptWorkers: 4, failedAttempts: { limit: 3, window: "5m" } } } };
    const { config } = parseConfig(raw, { env: {} });
    assert.deepEqual(config.http.auth, { bcryptWorkers: 4, failedAttempts: { limit: 3, windowMs: 300_000 } });
  });
});

describe("parseConfig: warnings", () => {
  it("names every unknown key with its full path and still loads", () => {
    const raw = minimalConfig();
    (raw.http as unknown) = { port: 5000, colour: "red" };
    (raw.extensions as Record<string, unknown>).search = { enable: true };
    sinksOf(raw)[1]!.colour = "blue";
    const { warnings } = parseConfig(raw, { env: {} });
    assert.deepEqual(warnings.toSorted(), [
      "extensions.events.sinks[1].colour: unknown key, ignored",
      "extensions.search: zot key for the search / CVE extension, not used by Berth; ignored",
      "http.colour: unknown key, ignored",
    ]);
  });

  it("says when sinks are configured but events are disabled", () => {
    const raw = minimalConfig();
    (raw.extensions as { events: Record<string, unknown> }).events.enable = false;
    const { warnings } = parseConfig(raw, { env: {} });
    assert.deepEqual(warnings, ["extensions.events.enable: false, so the extensions.events.sinks configured are not used"]);
  });

  it("warns that proxy is ignored for nats sinks", () => {
    const raw = minimalConfig();
    sinksOf(raw)[1]!.proxy = "http://proxy:3128";
    const { warnings } = parseConfig(raw, { env: {} });
    assert.deepEqual(warnings, ["extensions.events.sinks[1].proxy: ignored for nats sinks"]);
  });
});

describe("parseConfig: env overrides", () => {
  it("overrides connection settings and top-level values", () => {
    const env = {
      BERTH_REDIS_URL: "redis://:pw@redis.internal:6380/2",
      BERTH_QUEUE_PREFIX: "staging",
      BERTH_HTTP_PORT: "5055",
      BERTH_STORAGE_ROOT: "/srv/registry",
      BERTH_LOG_LEVEL: "ERROR",
      BERTH_DASHBOARD_PASSWORD: "from-env",
    };
    const raw = minimalConfig();
    raw.dashboard = { auth: { username: "admin", password: "from-file" } };
    const { config } = parseConfig(raw, { env });
    assert.deepEqual(config.queue.redis, { kind: "standalone", url: "redis://:pw@redis.internal:6380/2" });
    assert.equal(config.queue.prefix, "staging");
    assert.equal(config.http.port, 5055);
    assert.equal(config.storage.rootDirectory, "/srv/registry");
    assert.equal(config.log.level, "error");
    assert.equal(config.dashboard.auth.password, "from-env");
  });

  it("overrides per-sink secrets by sink name", () => {
    const raw = minimalConfig();
    Object.assign(sinksOf(raw)[0]!, {
      name: "ci-hook",
      credentials: { username: "u", password: "file-pw", token: "file-token" },
      signing: { secret: "file-signing" },
    });
    const env = {
      BERTH_SINK_CI_HOOK_PASSWORD: "env-pw",
      BERTH_SINK_CI_HOOK_TOKEN: "env-token",
      BERTH_SINK_CI_HOOK_SIGNING_SECRET: "env-signing",
    };
    const [sink] = parseConfig(raw, { env }).config.extensions.events.sinks;
    assert.deepEqual(sink?.credentials, { username: "u", password: "env-pw", token: "env-token" });
    assert.equal(sink?.signingSecret, "env-signing");
  });

  it("names the variable when an env value is bad", () => {
    assert.deepEqual(problemsOf(() => parseConfig(minimalConfig(), { env: { BERTH_HTTP_PORT: "http" } })), [
      'http.port: "http" is not a port (allowed: an integer 0-65535) (set by BERTH_HTTP_PORT)',
    ]);
  });
});

describe("parseConfig: secret files", () => {
  it("reads passwordFile, tokenFile and secretFile relative to baseDir, without the trailing newline", () => {
    const files = tempFiles({ pw: "s3cret\n", tok: "t0ken\r\n", sig: "whsec_abc", dash: "dash-pw\n" });
    try {
      const raw = minimalConfig();
      Object.assign(sinksOf(raw)[0]!, {
        credentials: { username: "u", passwordFile: "pw", tokenFile: "tok" },
        signing: { secretFile: join(files.dir, "sig") },
      });
      raw.dashboard = { auth: { username: "admin", passwordFile: "dash" } };
      const { config } = parseConfig(raw, { baseDir: files.dir, env: {} });
      const [sink] = config.extensions.events.sinks;
      assert.deepEqual(sink?.credentials, { username: "u", password: "s3cret", token: "t0ken" });
      assert.equal(sink?.signingSecret, "whsec_abc");
      assert.equal(config.dashboard.auth.password, "dash-pw");
    } finally {
      files.remove();
    }
  });

  it("prefers the env variable over a passwordFile (an override, not a conflict)", () => {
    const raw = minimalConfig();
    raw.dashboard = { auth: { username: "admin", passwordFile: "/nope" } };
    const { config } = parseConfig(raw, { env: { BERTH_DASHBOARD_PASSWORD: "env-pw" } });
    assert.equal(config.dashboard.auth.password, "env-pw");
  });

  it("reports an empty secret file", () => {
    const files = tempFiles({ empty: "\n" });
    try {
      const raw = minimalConfig();
      sinksOf(raw)[0]!.credentials = { tokenFile: "empty" };
      assert.deepEqual(problemsOf(() => parseConfig(raw, { baseDir: files.dir, env: {} })), [
        `extensions.events.sinks[0].credentials.tokenFile: ${JSON.stringify(join(files.dir, "empty"))} is empty`,
      ]);
    } finally {
      files.remove();
    }
  });
});

describe("parseConfig: all problems at once", () => {
  it("reports every problem of every section in one ConfigError", () => {
    const raw = minimalConfig();
    (raw.http as unknown) = { port: "eighty" };
    raw.log = { level: "loud" };
    sinksOf(raw)[0]!.timeout = "fast";
    sinksOf(raw)[1]!.type = "kafka";
    sinksOf(raw).push({ type: "nats", address: "nats://127.0.0.1:4222" });
    const problems = problemsOf(() => parseConfig(raw, { env: {} }));
    assert.deepEqual(problems, [
      'http.port: "eighty" is not a port (allowed: an integer 0-65535)',
      'log.level: "loud" is not supported (allowed: trace, debug, info, warn, error, fatal)',
      'extensions.events.sinks[0].timeout: "fast" is not a duration (examples: 500ms, 1s, 10s)',
      'extensions.events.sinks[1].type: "kafka" is not supported (allowed: http, nats)',
      "extensions.events.sinks[2].channel: required for nats sinks",
    ]);
  });

  it("lists every problem in the error message", () => {
    const raw = minimalConfig();
    sinksOf(raw)[0]!.timeout = "fast";
    sinksOf(raw)[1]!.type = "kafka";
    try {
      parseConfig(raw, { env: {} });
      assert.fail("expected a ConfigError");
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        [
          "invalid configuration (2 problems):",
          '  - extensions.events.sinks[0].timeout: "fast" is not a duration (examples: 500ms, 1s, 10s)',
          '  - extensions.events.sinks[1].type: "kafka" is not supported (allowed: http, nats)',
        ].join("\n"),
      );
    }
  });

  it("requires storage.rootDirectory", () => {
    assert.deepEqual(problemsOf(() => parseConfig({}, { env: {} })), ["storage.rootDirectory: required (a directory path)"]);
  });
});

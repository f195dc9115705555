import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { formatConfig, MASK, maskConfig, maskUrlPassword } from "./mask.js";
import { parseConfig } from "./parse-config.js";
import { EXAMPLES_DIR, minimalConfig, readExample, sinksOf } from "./test-support/fixtures.js";

const fileSecret = (name: string) => readFileSync(join(EXAMPLES_DIR, "files", name), "utf8").trim();

/** Every secret in examples/full.json, inline or from a file. */
const FULL_SECRETS = [
  fileSecret("audit-password"),
  fileSecret("signing-secret"),
  fileSecret("webhook-token"),
  fileSecret("dashboard-password"),
  "header-secret-value",
  "proxy-secret",
  "inline-bearer-token",
  "whsec_aW5saW5lLXNpZ25pbmctc2VjcmV0",
  "inline-nats-password",
  "redis-url-secret",
];

describe("maskConfig / formatConfig", () => {
  it("leaves no secret of the full example anywhere in the printed config", () => {
    const { config } = parseConfig(readExample("full.json"), { baseDir: EXAMPLES_DIR, env: {} });
    const printed = formatConfig(config);
    for (const secret of FULL_SECRETS) assert.ok(!printed.includes(secret), `leaked ${secret}`);
    assert.ok(printed.includes(MASK));
  });

  it("masks each kind of secret and keeps everything else", () => {
    const { config } = parseConfig(readExample("full.json"), { baseDir: EXAMPLES_DIR, env: {} });
    const masked = maskConfig(config) as typeof config;
    const [audit, ciHook] = masked.extensions.events.sinks;
    assert.equal(audit?.credentials.password, MASK);
    assert.equal(audit?.credentials.username, "berth");
    assert.equal(audit?.signingSecret, MASK);
    assert.deepEqual(audit?.headers, { "X-Team": "platform", "X-Api-Key": MASK });
    assert.equal(audit?.proxy, `http://proxyuser:${MASK}@proxy.internal:3128`);
    assert.equal(ciHook?.credentials.token, MASK);
    assert.deepEqual(masked.queue.redis, { kind: "standalone", url: `redis://:${MASK}@127.0.0.1:6379/0` });
    assert.equal(masked.dashboard.auth.password, MASK);
    assert.equal(masked.dashboard.auth.username, "ops");
  });

  it("does not change the config it masks", () => {
    const { config } = parseConfig(readExample("full.json"), { baseDir: EXAMPLES_DIR, env: {} });
    maskConfig(config);
    assert.equal(config.dashboard.auth.password, fileSecret("dashboard-password"));
  });

  it("masks passwords inside each URL of a NATS server list", () => {
    const raw = minimalConfig();
    sinksOf(raw)[1]!.address = "nats://a:pw-one@n1:4222,nats://b:pw-two@n2:4222";
    const printed = formatConfig(parseConfig(raw, { env: {} }).config);
    assert.ok(!printed.includes("pw-one") && !printed.includes("pw-two"), printed);
    assert.ok(printed.includes(`nats://a:${MASK}@n1:4222,nats://b:${MASK}@n2:4222`));
  });
});

describe("maskUrlPassword", () => {
  it("masks the whole password, even one containing @", () => {
    assert.equal(maskUrlPassword("redis://user:p@ss@host:6379/0"), `redis://user:${MASK}@host:6379/0`);
    assert.equal(maskUrlPassword("redis://:secret@host"), `redis://:${MASK}@host`);
  });

  it("leaves URLs without a password alone", () => {
    assert.equal(maskUrlPassword("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    assert.equal(maskUrlPassword("https://user@host/x"), "https://user@host/x");
  });
});

describe("problem messages never show a secret", () => {
  const leaks: [string, (raw: Record<string, unknown>) => void][] = [
    ["redis URL with a bad scheme", (raw) => (raw.queue = { redis: "http://u:leak-redis@h:6379" })],
    ["redis address without a scheme", (raw) => (raw.queue = { redis: "u:leak-bare@h:6379" })],
    ["sink address with a bad scheme", (raw) => (sinksOf(raw)[0]!.address = "ftp://u:leak-addr@h/x")],
    ["secret header with a line break", (raw) => (sinksOf(raw)[0]!.headers = { Authorization: "Bearer leak-hdr\n" })],
    ["sink password of the wrong type", (raw) => (sinksOf(raw)[0]!.credentials = { username: "u", password: ["leak-pw"] })],
    ["dashboard password of the wrong type", (raw) => (raw.dashboard = { auth: { username: "a", password: ["leak-dash"] } })],
    [
      "a sink object where the list belongs",
      (raw) => ((raw.extensions as { events: Record<string, unknown> }).events.sinks = { credentials: { password: "leak-obj" } }),
    ],
  ];
  for (const [name, change] of leaks) {
    it(name, () => {
      const raw = minimalConfig();
      change(raw);
      try {
        parseConfig(raw, { env: {} });
        assert.fail("expected a ConfigError");
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        assert.doesNotMatch(err.message, /leak-/);
        assert.ok(err.problems.length > 0);
      }
    });
  }
});

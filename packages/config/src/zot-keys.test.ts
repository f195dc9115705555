import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseConfig } from "./parse-config.js";
import { minimalConfig, problemsOfConfig } from "./test-support/fixtures.js";
import { IGNORED_ZOT_KEYS, REFUSED_ZOT_KEYS } from "./zot-keys.js";

type Raw = Record<string, unknown>;

function withKey(path: string, value: unknown): Raw {
  const raw = minimalConfig();
  const keys = path.split(".");
  let node = raw;
  for (const key of keys.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Raw;
  }
  node[keys.at(-1)!] = value;
  return raw;
}

describe("zot keys Berth does not implement fail closed", () => {
  it("refuses OpenID instead of starting an anonymous, writable registry", () => {
    const raw = minimalConfig();
    raw.http = { auth: { openid: { providers: { oidc: { issuer: "https://idp.example.com" } } } } };
    assert.deepEqual(problemsOfConfig(raw), [
      "http.auth.openid: OpenID Connect / OAuth2 login (zot key) is not supported by Berth; use http.auth.ldap, or http.auth.bearer with a token service that accepts your identity provider",
    ]);
  });

  it("refuses an LDAP block it cannot use instead of running without authentication", () => {
    const raw = minimalConfig();
    raw.http = { auth: { ldap: { port: 389, insecure: true } } };
    assert.deepEqual(problemsOfConfig(raw), [
      "http.auth.ldap.address: required when http.auth.ldap is set",
      "http.auth.ldap.baseDN: required when http.auth.ldap is set",
      "http.auth.ldap.userAttribute: required when http.auth.ldap is set",
    ]);
  });

  it("refuses a remote storage driver and sub-paths instead of storing images elsewhere", () => {
    const raw = minimalConfig();
    raw.storage = {
      rootDirectory: "/tmp/berth-test",
      storageDriver: { name: "s3", bucket: "images", region: "us-east-2" },
      subPaths: { "/a": { rootDirectory: "/tmp/a" } },
    };
    const problems = problemsOfConfig(raw);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^storage\.storageDriver: a remote storage driver \(S3 and others\) \(zot key\) is not supported by Berth; /);
    assert.match(problems[1]!, /^storage\.subPaths: per-repository-prefix storage roots \(zot key\) is not supported by Berth; /);
  });

  it("refuses every key of the table, however it is spelled", () => {
    for (const path of Object.keys(REFUSED_ZOT_KEYS)) {
      const problems = problemsOfConfig(withKey(path, { enabled: true }));
      assert.equal(problems.length, 1, path);
      // A key inside a refused block is reported once, at the block.
      const reported = Object.keys(REFUSED_ZOT_KEYS).find((k) => path === k || path.startsWith(`${k}.`));
      assert.ok(problems[0]!.startsWith(`${reported}: `), problems[0]);
      assert.match(problems[0]!, /is not supported by Berth; \S/);
    }
    assert.match(problemsOfConfig(withKey("http.RateLimit", { rate: 5 }))[0]!, /^http\.RateLimit: request rate limiting/);
  });

  it("only warns about a refused key that switches nothing on", () => {
    for (const value of [{}, false, [], null]) {
      const { warnings } = parseConfig(withKey("http.auth.apikey", value), { env: {} });
      assert.deepEqual(warnings, [
        "http.auth.apikey: zot API keys (zot key) is not supported by Berth; it switches nothing on here, so ignored",
      ]);
    }
  });

  it("warns about harmless zot keys, naming what they do", () => {
    const raw = withKey("storage.dedupe", true);
    (raw.extensions as Raw).sync = { enable: true };
    const { warnings } = parseConfig(raw, { env: {} });
    assert.deepEqual(warnings, [
      "storage.dedupe: zot key for hard-link deduplication, not used by Berth; ignored",
      "extensions.sync: zot key for registry mirroring, not used by Berth; ignored",
    ]);
  });

  it("reads zot's garbage collection keys as zot spells them, in any case", () => {
    const raw = withKey("storage.GC", true);
    Object.assign(raw.storage as Raw, { gcdelay: "2h", gcInterval: "30m", uploadMaxAge: "24h" });
    const { config, warnings } = parseConfig(raw, { env: {} });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.storage.gc, { enable: true, delayMs: 7_200_000, intervalMs: 1_800_000 });
    assert.equal(config.storage.uploadMaxAgeMs, 24 * 3_600_000);
    const defaults = parseConfig(minimalConfig(), { env: {} }).config.storage;
    assert.deepEqual(defaults.gc, { enable: false, delayMs: 3_600_000, intervalMs: 3_600_000 }, "off unless asked; zot's 1h delay");
    assert.equal(defaults.uploadMaxAgeMs, 168 * 3_600_000, "Distribution's 168h");
  });

  it("refuses bad garbage collection values, naming the key and what is allowed", () => {
    const raw = withKey("storage.gc", "yes");
    Object.assign(raw.storage as Raw, { gcDelay: "soon", gcInterval: "0s", uploadMaxAge: 5 });
    assert.deepEqual(problemsOfConfig(raw), [
      'storage.gc: "yes" must be true or false',
      'storage.gcDelay: "soon" is not a duration (examples: 500ms, 1s, 10s)',
      'storage.gcInterval: "0s" must be longer than 0s',
      "storage.uploadMaxAge: 5 is not a duration (examples: 500ms, 1s, 10s)",
    ]);
  });

  it("the README's zot key table lists every refused and ignored key", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### zot keys"));
    for (const path of [...Object.keys(REFUSED_ZOT_KEYS), ...Object.keys(IGNORED_ZOT_KEYS)]) {
      assert.ok(section.includes(`\`${path}\``), `README lacks ${path}`);
    }
  });
});

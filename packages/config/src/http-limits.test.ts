import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import * as D from "./defaults.js";
import { parseConfig } from "./parse-config.js";
import { minimalConfig } from "./test-support/fixtures.js";

function problemsOf(raw: unknown): string[] {
  try {
    parseConfig(raw, { env: {} });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("parseConfig: HTTP edge limits", () => {
  it("fills the documented defaults", () => {
    const { config } = parseConfig(minimalConfig(), { env: {} });
    assert.deepEqual(config.http.limits, D.DEFAULT_HTTP_LIMITS);
    assert.equal(config.http.metricsAuth, false);
    assert.equal(config.storage.minFreeBytes, D.DEFAULT_MIN_FREE_BYTES);
  });

  it("reads durations and counts as written", () => {
    const raw = minimalConfig();
    raw.http = {
      headerTimeout: "5s",
      idleTimeout: "1m",
      bodyMinRate: 0,
      bodyRateWindow: "10s",
      stallTimeout: "2m",
      maxInFlight: 100,
      maxBufferedBodyBytes: 8388608,
    };
    const { config } = parseConfig(raw, { env: {} });
    assert.deepEqual(config.http.limits, {
      headerTimeoutMs: 5000,
      idleTimeoutMs: 60000,
      bodyMinBytesPerSecond: 0,
      bodyRateWindowMs: 10000,
      stallTimeoutMs: 120000,
      maxInFlight: 100,
      maxBufferedBodyBytes: 8388608,
    });
  });

  it("names the key and what is allowed for bad values", () => {
    const raw = minimalConfig();
    raw.http = { headerTimeout: "0s", idleTimeout: "soon", bodyMinRate: -1, maxInFlight: 0, metricsAuth: true };
    const problems = problemsOf(raw).join("\n");
    assert.match(problems, /http\.headerTimeout: .*longer than 0s/);
    assert.match(problems, /http\.idleTimeout: .*not a duration/);
    assert.match(problems, /http\.bodyMinRate: .*integer ≥ 0/);
    assert.match(problems, /http\.maxInFlight: .*integer ≥ 1/);
    assert.match(problems, /http\.metricsAuth: needs a way to authenticate \(http\.auth\.htpasswd, bearer, ldap or http\.tls\.cacert\)/);
  });
});

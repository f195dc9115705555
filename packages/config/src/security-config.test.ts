import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { parseConfig } from "./parse-config.js";
import { minimalConfig, tempFiles } from "./test-support/fixtures.js";

type Raw = Record<string, unknown>;

function problemsOf(raw: Raw): string[] {
  try {
    parseConfig(raw, { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail("the config was accepted");
}

describe("parseConfig: http.tls", () => {
  const files = tempFiles({ "server.crt": "cert", "server.key": "key", "ca.crt": "ca" });
  after(() => files.remove());
  const withTls = (tls: unknown): Raw => ({ ...minimalConfig(), http: { tls } });

  it("resolves cert, key and cacert (any case, as zot's CACert) to absolute paths", () => {
    const { config } = parseConfig(withTls({ Cert: "server.crt", key: "server.key", CACert: "ca.crt" }), { env: {}, baseDir: files.dir });
    assert.deepEqual(config.http.tls, {
      certFile: join(files.dir, "server.crt"),
      keyFile: join(files.dir, "server.key"),
      caCertFile: join(files.dir, "ca.crt"),
    });
    assert.equal(parseConfig(minimalConfig(), { env: {} }).config.http.tls, undefined);
  });

  it("refuses half a TLS setup instead of falling back to plain HTTP", () => {
    const cert = join(files.dir, "server.crt");
    assert.deepEqual(problemsOf(withTls({ cert })), [
      "http.tls: set both cert and key (a certificate without its key, or the reverse, cannot serve HTTPS)",
    ]);
    assert.deepEqual(problemsOf(withTls({ cacert: join(files.dir, "ca.crt") })), [
      "http.tls.cacert: client certificates need TLS: set http.tls.cert and http.tls.key too",
    ]);
    const missing = problemsOf(withTls({ cert, key: join(files.dir, "nope.key") }));
    assert.equal(missing.length, 1);
    assert.match(missing[0]!, /^http\.tls\.key: .*nope\.key/);
  });
});

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { MASK } from "@berth/config";
import { recordIo } from "../test-support/record-io.js";
import { checkConfig, run } from "./config.js";

const EXAMPLES = fileURLToPath(new URL("../../../../packages/config/examples/", import.meta.url));

describe("berth config check", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-cli-config-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function writeConfig(name: string, config: unknown): string {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  it("prints the seed example resolved and masked, exit 0", async () => {
    const io = recordIo();
    const code = await checkConfig([join(EXAMPLES, "seed.json")], io);
    assert.equal(code, 0, io.stderr.join("\n"));
    const printed = JSON.parse(io.stdout.join("\n"));
    assert.equal(printed.http.port, 8080);
    assert.equal(printed.extensions.events.sinks[0].credentials.password, MASK);
    assert.equal(printed.extensions.events.sinks[0].credentials.token, MASK);
    assert.doesNotMatch(io.stdout.join("\n"), /webhook-password|optional-bearer-token/);
    assert.match(io.stderr.at(-1) ?? "", /^config OK: .*seed\.json \(2 sinks, 0 warnings\)$/);
  });

  it("accepts the example using every attribute", async () => {
    const io = recordIo();
    assert.equal(await checkConfig(["--config", join(EXAMPLES, "full.json")], io), 0, io.stderr.join("\n"));
    assert.equal(JSON.parse(io.stdout.join("\n")).extensions.events.sinks.length, 5);
  });

  it("reads the file named by BERTH_CONFIG and applies env overrides", async () => {
    const io = recordIo({ env: { BERTH_CONFIG: join(EXAMPLES, "seed.json"), BERTH_QUEUE_PREFIX: "from-env" } });
    assert.equal(await checkConfig([], io), 0, io.stderr.join("\n"));
    assert.equal(JSON.parse(io.stdout.join("\n")).queue.prefix, "from-env");
  });

  it("prints warnings on stderr, keeping stdout pure JSON", async () => {
    const file = writeConfig("warn.json", { storage: { rootDirectory: "/tmp/x" }, http: { colour: "red" } });
    const io = recordIo();
    assert.equal(await checkConfig([`--config=${file}`], io), 0);
    assert.ok(JSON.parse(io.stdout.join("\n")));
    assert.deepEqual(io.stderr.slice(0, 1), ["warning: http.colour: unknown key, ignored"]);
  });

  it("prints every problem and exits 2 for an invalid config", async () => {
    const file = writeConfig("bad.json", {
      storage: { rootDirectory: "/tmp/x" },
      extensions: {
        events: {
          enable: true,
          sinks: [
            { type: "http", address: "https://h/x", timeout: "fast", credentials: { username: "u", password: "pw-hidden" } },
            { type: "kafka", address: "k:9092" },
          ],
        },
      },
    });
    const io = recordIo();
    assert.equal(await checkConfig([file], io), 2);
    assert.deepEqual(io.stdout, []);
    const stderr = io.stderr.join("\n");
    assert.match(stderr, /^invalid config file .*bad\.json \(2 problems\):/);
    assert.ok(stderr.includes('extensions.events.sinks[0].timeout: "fast" is not a duration (examples: 500ms, 1s, 10s)'));
    assert.ok(stderr.includes('extensions.events.sinks[1].type: "kafka" is not supported (allowed: http, nats)'));
    assert.doesNotMatch(stderr, /pw-hidden/);
  });

  it("exits 2 on zot security and storage keys Berth does not implement, one line per key", async () => {
    // Each of these configs used to pass with "unknown key, ignored" warnings and start a
    // registry that was open, or stored images somewhere else than configured.
    const file = writeConfig("fail-open.json", {
      storage: { rootDirectory: "/tmp/x", storageDriver: { name: "s3", bucket: "b" }, subPaths: { "/a": { rootDirectory: "/tmp/a" } } },
      http: { auth: { openid: { providers: { oidc: { issuer: "https://idp" } } } }, ratelimit: { rate: 10 } },
      log: { audit: "/var/log/audit.log" },
    });
    const io = recordIo();
    assert.equal(await checkConfig([file], io), 2);
    assert.deepEqual(io.stdout, []);
    const stderr = io.stderr.join("\n");
    assert.match(stderr, /\(5 problems\):/);
    for (const key of ["storage.storageDriver", "storage.subPaths", "http.auth.openid", "http.ratelimit", "log.audit"]) {
      assert.match(stderr, new RegExp(`  - ${key.replace(".", "\\.")}: .* is not supported by Berth; \\S`), key);
    }
  });

  it("exits 2 when the file cannot be read", async () => {
    const io = recordIo();
    assert.equal(await checkConfig([join(dir, "missing.json")], io), 2);
    assert.match(io.stderr.join("\n"), /cannot read ".*missing\.json": ENOENT/);
  });

  it("exits 2 with usage when no file is given", async () => {
    const io = recordIo();
    assert.equal(await checkConfig([], io), 2);
    assert.match(io.stderr[0] ?? "", /no config file/);
  });

  it("exits 2 on an unknown flag or two files", async () => {
    const unknown = recordIo();
    assert.equal(await checkConfig(["--verbose", "x.json"], unknown), 2);
    const two = recordIo();
    assert.equal(await checkConfig(["a.json", "--config", "b.json"], two), 2);
    assert.match(two.stderr[0] ?? "", /give one config file/);
  });

  it("resolves a relative FILE against the working directory", async () => {
    const io = recordIo({ cwd: EXAMPLES });
    assert.equal(await checkConfig(["local-stack.json"], io), 0, io.stderr.join("\n"));
  });
});

describe("berth config", () => {
  it("shows usage for --help (exit 0) and for an unknown command (exit 2)", async () => {
    const help = recordIo();
    assert.equal(await run(["--help"], help), 0);
    assert.match(help.stdout[0] ?? "", /berth config check/);
    const unknown = recordIo();
    assert.equal(await run(["lint"], unknown), 2);
    assert.equal(unknown.stderr[0], 'berth config: unknown command "lint"');
  });
});

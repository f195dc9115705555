import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { CONFIG_OPTION, configPathFrom } from "./config-path.js";
import { loadConfig } from "./load-config.js";
import { EXAMPLES_DIR, tempFiles } from "./test-support/fixtures.js";

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail("expected a ConfigError");
}

describe("loadConfig", () => {
  it("loads the seed example file", async () => {
    const { config } = await loadConfig({ file: join(EXAMPLES_DIR, "seed.json"), env: {} });
    assert.equal(config.extensions.events.sinks.length, 2);
  });

  it("resolves a relative file against cwd and relative paths inside it against the file's dir", async () => {
    const files = tempFiles({
      "berth.json": JSON.stringify({ storage: { rootDirectory: "data" }, log: { output: "logs/berth.log" } }),
    });
    try {
      const { config } = await loadConfig({ file: "berth.json", env: {}, cwd: files.dir });
      assert.equal(config.storage.rootDirectory, join(files.dir, "data"));
      assert.equal(config.log.output, join(files.dir, "logs/berth.log"));
    } finally {
      files.remove();
    }
  });

  it("names the file when it cannot be read", async () => {
    const err = await rejection(loadConfig({ file: "/nope/berth.json", env: {} }));
    assert.equal(err.file, "/nope/berth.json");
    assert.deepEqual(err.problems, ['cannot read "/nope/berth.json": ENOENT']);
    assert.match(err.message, /^invalid config file \/nope\/berth\.json \(1 problem\):/);
  });

  it("names the file when it is not JSON, and says YAML is not read", async () => {
    const files = tempFiles({ "zot.yaml": "storage:\n  rootDirectory: /tmp/zot\n" });
    try {
      const err = await rejection(loadConfig({ file: join(files.dir, "zot.yaml"), env: {} }));
      assert.equal(err.problems.length, 1);
      assert.equal(
        err.problems[0],
        `${JSON.stringify(join(files.dir, "zot.yaml"))} is not valid JSON: Unexpected token 's' (Berth reads JSON configs only)`,
      );
    } finally {
      files.remove();
    }
  });

  it("gives the line and column of a JSON syntax error without quoting the file", async () => {
    const files = tempFiles({ "berth.json": '{\n  "queue": { "redis": "redis://:leak-json@h" },\n  "x": 1,\n}\n' });
    try {
      const err = await rejection(loadConfig({ file: join(files.dir, "berth.json"), env: {} }));
      assert.doesNotMatch(err.message, /leak-json/);
      assert.match(err.problems[0]!, /is not valid JSON: .* at line 4, column 1$/);
    } finally {
      files.remove();
    }
  });

  it("names the file when the config in it is invalid", async () => {
    const files = tempFiles({ "berth.json": JSON.stringify({ storage: { rootDirectory: "/x" }, log: { level: "loud" } }) });
    try {
      const err = await rejection(loadConfig({ file: join(files.dir, "berth.json"), env: {} }));
      assert.equal(err.file, join(files.dir, "berth.json"));
      assert.deepEqual(err.problems, ['log.level: "loud" is not supported (allowed: trace, debug, info, warn, error, fatal)']);
    } finally {
      files.remove();
    }
  });

  it("without a file, uses defaults and env", async () => {
    const { config } = await loadConfig({ env: { BERTH_STORAGE_ROOT: "/srv/registry" } });
    assert.equal(config.storage.rootDirectory, "/srv/registry");
    assert.deepEqual(config.extensions.events.sinks, []);
  });
});

describe("configPathFrom", () => {
  const flag = (args: string[]) => parseArgs({ args, options: CONFIG_OPTION, allowPositionals: true }).values.config;

  it("reads --config PATH and --config=PATH", () => {
    assert.equal(configPathFrom(flag(["--config", "a.json"]), {}), "a.json");
    assert.equal(configPathFrom(flag(["x", "--config=b.json"]), {}), "b.json");
  });

  it("prefers the flag over BERTH_CONFIG and falls back to it", () => {
    assert.equal(configPathFrom(flag(["--config", "a.json"]), { BERTH_CONFIG: "env.json" }), "a.json");
    assert.equal(configPathFrom(flag([]), { BERTH_CONFIG: "env.json" }), "env.json");
    assert.equal(configPathFrom(flag([]), {}), undefined);
  });

  it("rejects --config without a path", () => {
    assert.throws(() => flag(["--config"]), { code: "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" });
    assert.throws(() => flag(["--config", "--verbose"]), { code: "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" });
    assert.throws(() => configPathFrom(flag(["--config="]), {}), ConfigError);
  });
});

/**
 * Bad config input, property-based: whatever JSON an operator writes (or an env variable holds),
 * `parseConfig` either returns a config or throws a ConfigError listing problems — never a
 * TypeError, a RangeError or any other crash at start-up.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ConfigError, parseConfig } from "@berth/config";
import { REPO_ROOT, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import fc from "fast-check";

const RUNS = 200;
const EXAMPLES = join(REPO_ROOT, "packages/config/examples");
const full = JSON.parse(readFileSync(join(EXAMPLES, "full.json"), "utf8")) as Record<string, unknown>;
const localStack = JSON.parse(readFileSync(join(EXAMPLES, "local-stack.json"), "utf8")) as Record<string, unknown>;

/** Returns the outcome; anything other than a config or a ConfigError fails the property. */
function parseOutcome(raw: unknown, env: Record<string, string> = {}, baseDir = EXAMPLES): "ok" | "invalid" {
  try {
    const { config } = parseConfig(raw, { env, baseDir });
    assert.equal(typeof config.http.port, "number");
    return "ok";
  } catch (err) {
    if (err instanceof ConfigError) {
      assert.ok(err.problems.length > 0, "a ConfigError lists at least one problem");
      for (const p of err.problems) assert.equal(typeof p, "string");
      return "invalid";
    }
    throw err;
  }
}

/** Every path of plain-object keys and array indexes in `value`. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

/** A deep copy of `base` with the value at `path` replaced. */
function withValueAt(base: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

/** Values operators get wrong: wrong types, odd strings, numbers at the edges, nesting. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom("", " ", "0", "-1", "65536", "1e400", "NaN", "10x", "5 s", "-5s", "null", "true", "../..", "\u0000", "nats://", "http://"),
  fc.constantFrom(0, -1, 65_536, 1.5, Number.MAX_SAFE_INTEGER, -0),
  fc.string(),
);

const SINK_KEYS = [
  "name", "type", "address", "timeout", "credentials", "headers", "channel", "tls", "proxy", "events",
  "repositories", "retry", "mode", "jetstream", "signing", "concurrency", "breaker", "Address", "TYPE",
];

describe("bad config input (fast-check)", () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    tmp = await makeTempDir("config-fuzz");
  });
  after(() => tmp.remove());

  test("the shipped examples are valid (the base of the mutations below)", () => {
    assert.equal(parseOutcome(localStack), "ok");
    assert.equal(parseOutcome(full), "ok");
  });

  test("any JSON document: a config or a ConfigError", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (raw) => {
        parseOutcome(raw);
      }),
      { numRuns: RUNS },
    );
  });

  test("a valid config with one value anywhere replaced: a config or a ConfigError", () => {
    const bases = [full, localStack];
    const arb = fc
      .nat({ max: bases.length - 1 })
      .chain((b) => fc.tuple(fc.constant(bases[b]!), fc.constantFrom(...pathsOf(bases[b])), oddValue));
    fc.assert(
      fc.property(arb, ([base, path, value]) => {
        parseOutcome(withValueAt(base, path, value));
      }),
      { numRuns: RUNS },
    );
  });

  test("sinks made of arbitrary attribute values: a config or a ConfigError", () => {
    const sink = fc.dictionary(fc.constantFrom(...SINK_KEYS), oddValue, { maxKeys: 8 });
    const sinks = fc.array(fc.oneof(sink, oddValue), { maxLength: 4 });
    fc.assert(
      fc.property(sinks, fc.boolean(), (list, enable) => {
        const raw = withValueAt(localStack, ["extensions", "events"], { enable, sinks: list });
        parseOutcome(raw);
      }),
      { numRuns: RUNS },
    );
  });

  test("arbitrary BERTH_* environment overrides: a config or a ConfigError", () => {
    const names = [
      "BERTH_HTTP_PORT", "BERTH_REDIS_URL", "BERTH_QUEUE_PREFIX", "BERTH_STORAGE_ROOT", "BERTH_LOG_LEVEL",
      "BERTH_DASHBOARD_PASSWORD", "BERTH_SINK_DEMO_HTTP_PASSWORD", "BERTH_SINK_DEMO_HTTP_TOKEN",
    ];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.string(), fc.constantFrom("", "0", "x:y", "redis://")), { maxKeys: 4 }), (env) => {
        parseOutcome(localStack, env);
      }),
      { numRuns: RUNS },
    );
  });

  test("config files written to disk with arbitrary content in referenced files: a config or a ConfigError", async () => {
    // A config whose htpasswd / secret files exist but hold anything.
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (passwordText, htpasswdText) => {
        const dir = tmp.path;
        const { writeFile } = await import("node:fs/promises");
        await writeFile(join(dir, "pw"), passwordText);
        await writeFile(join(dir, "htpasswd"), htpasswdText);
        const raw = withValueAt(
          withValueAt(localStack, ["dashboard", "auth"], { username: "ops", passwordFile: "pw", htpasswd: "htpasswd" }),
          ["http", "auth"],
          { htpasswd: { path: "htpasswd" } },
        );
        await writeJsonFile(dir, "config.json", raw);
        parseOutcome(raw, {}, dir);
      }),
      { numRuns: 50 },
    );
  });
});

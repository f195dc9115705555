import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { formatConfig } from "./mask.js";
import { parseConfig } from "./parse-config.js";
import { minimalConfig, tempFiles } from "./test-support/fixtures.js";

type Raw = Record<string, unknown>;

function withQueue(queue: Raw): Raw {
  return { ...minimalConfig(), queue };
}

function problemsOf(raw: Raw, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(raw, { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail("expected a ConfigError");
}

describe("queue.redis: Sentinel", () => {
  it("reads the sentinels, the master name and both passwords; the prefix stays as written", () => {
    const raw = withQueue({
      redis: { sentinels: ["s1:26380", "s2", "[::1]:26379"], name: "mymaster", password: "pw", sentinelPassword: "spw", db: 2 },
    });
    const { config } = parseConfig(raw, { env: {} });
    assert.deepEqual(config.queue.redis, {
      kind: "sentinel",
      sentinels: [
        { host: "s1", port: 26380 },
        { host: "s2", port: 26379 },
        { host: "::1", port: 26379 },
      ],
      name: "mymaster",
      password: "pw",
      sentinelPassword: "spw",
      db: 2,
    });
    assert.equal(config.queue.prefix, "berth");
  });

  it("takes passwords from files and env, and never prints them", () => {
    const files = tempFiles({ pw: "from-file\n" });
    try {
      const raw = withQueue({ redis: { sentinels: ["s1"], name: "m", passwordFile: `${files.dir}/pw` } });
      const { config } = parseConfig(raw, { env: { BERTH_REDIS_SENTINEL_PASSWORD: "from-env" } });
      assert.equal(config.queue.redis.kind === "sentinel" && config.queue.redis.password, "from-file");
      assert.equal(config.queue.redis.kind === "sentinel" && config.queue.redis.sentinelPassword, "from-env");
      const printed = formatConfig(config);
      assert.doesNotMatch(printed, /from-file|from-env/);
      assert.match(printed, /"sentinelPassword": "\*\*\*\*\*"/);
    } finally {
      files.remove();
    }
  });

  it("is chosen by BERTH_REDIS_SENTINELS and BERTH_REDIS_SENTINEL_NAME over the file's URL", () => {
    const raw = withQueue({ redis: "redis://127.0.0.1:6379" });
    const { config } = parseConfig(raw, {
      env: { BERTH_REDIS_SENTINELS: "a:1, b:2", BERTH_REDIS_SENTINEL_NAME: "berth", BERTH_REDIS_PASSWORD: "x" },
    });
    assert.deepEqual(config.queue.redis, {
      kind: "sentinel",
      sentinels: [
        { host: "a", port: 1 },
        { host: "b", port: 2 },
      ],
      name: "berth",
      password: "x",
      db: 0,
    });
  });

  it("reports each bad key with its path and what is allowed", () => {
    const raw = withQueue({ redis: { sentinels: ["ok:1", "bad host", 7], db: -1, master: "m" } });
    assert.deepEqual(problemsOf(raw), [
      "queue.redis.master: unknown key (allowed here: sentinels, name, username, password, passwordFile, sentinelPassword, sentinelPasswordFile, db)",
      'queue.redis.sentinels[1]: "bad host" is not a "host:port" address (example: redis-1:26379)',
      'queue.redis.sentinels[2]: 7 is not a "host:port" address (example: redis-1:26379)',
      "queue.redis.name: required (the master group name the sentinels monitor, e.g. mymaster)",
      "queue.redis.db: -1 must be an integer ≥ 0",
    ]);
  });

  it("names the env variable when its list is bad", () => {
    assert.deepEqual(problemsOf(withQueue({}), { BERTH_REDIS_SENTINELS: "x:99999", BERTH_REDIS_SENTINEL_NAME: "m" }), [
      'BERTH_REDIS_SENTINELS[0]: "x:99999" is not a "host:port" address (example: redis-1:26379)',
    ]);
  });
});

describe("queue.redis: Cluster", () => {
  it("reads the seed nodes and wraps the prefix in a hash tag", () => {
    const raw = withQueue({ redis: { cluster: ["r1:7000", "r2:7001"], password: "pw" }, prefix: "prod" });
    const { config } = parseConfig(raw, { env: {} });
    assert.deepEqual(config.queue.redis, {
      kind: "cluster",
      nodes: [
        { host: "r1", port: 7000 },
        { host: "r2", port: 7001 },
      ],
      password: "pw",
    });
    assert.equal(config.queue.prefix, "{prod}");
    assert.doesNotMatch(formatConfig(config), /"pw"/);
  });

  it("keeps a prefix that already has a hash tag", () => {
    const raw = withQueue({ redis: { cluster: ["r1:7000"] }, prefix: "team-a:{berth}" });
    assert.equal(parseConfig(raw, { env: {} }).config.queue.prefix, "team-a:{berth}");
    const empty = withQueue({ redis: { cluster: ["r1:7000"] }, prefix: "x{}" });
    assert.equal(parseConfig(empty, { env: {} }).config.queue.prefix, "{x{}}");
  });

  it("is chosen by BERTH_REDIS_CLUSTER", () => {
    const { config } = parseConfig(minimalConfig(), { env: { BERTH_REDIS_CLUSTER: "r1:7000,r2" } });
    assert.deepEqual(config.queue.redis, {
      kind: "cluster",
      nodes: [
        { host: "r1", port: 7000 },
        { host: "r2", port: 6379 },
      ],
    });
    assert.equal(config.queue.prefix, "{berth}");
  });

  it("refuses an empty node list and a Sentinel key", () => {
    assert.deepEqual(problemsOf(withQueue({ redis: { cluster: [], name: "m" } })), [
      "queue.redis.name: unknown key (allowed here: cluster, username, password, passwordFile)",
      'queue.redis.cluster: must be a non-empty array of "host:port" strings, got an empty array',
    ]);
  });
});

describe("queue.redis: which topology", () => {
  it("refuses an object with neither or both forms", () => {
    assert.deepEqual(problemsOf(withQueue({ redis: { host: "r1" } })), [
      'queue.redis: an object needs "sentinels" (Redis Sentinel) or "cluster" (Redis Cluster); a single server is a URL string (example: redis://127.0.0.1:6379)',
    ]);
    assert.deepEqual(problemsOf(withQueue({ redis: { sentinels: ["a"], cluster: ["b"], name: "m" } })), [
      "queue.redis: set sentinels or cluster, not both",
    ]);
  });

  it("refuses two env variables that pick different topologies", () => {
    assert.deepEqual(problemsOf(minimalConfig(), { BERTH_REDIS_CLUSTER: "a", BERTH_REDIS_URL: "redis://b" }), [
      "queue.redis: BERTH_REDIS_CLUSTER and BERTH_REDIS_URL are both set (set one: they pick different topologies)",
    ]);
  });

  it("lets BERTH_REDIS_URL replace a Sentinel object from the file", () => {
    const raw = withQueue({ redis: { sentinels: ["s1"], name: "m" } });
    const { config } = parseConfig(raw, { env: { BERTH_REDIS_URL: "redis://other:6379" } });
    assert.deepEqual(config.queue.redis, { kind: "standalone", url: "redis://other:6379" });
  });
});

describe("queue.durability", () => {
  it("reads minReplicas and timeout, from the file or env", () => {
    const raw = withQueue({ durability: { minReplicas: 1, timeout: "1s" } });
    assert.deepEqual(parseConfig(raw, { env: {} }).config.queue.durability, { minReplicas: 1, timeoutMs: 1000 });
    const env = { BERTH_REDIS_MIN_REPLICAS: "2", BERTH_REDIS_DURABILITY_TIMEOUT: "100ms" };
    assert.deepEqual(parseConfig(minimalConfig(), { env }).config.queue.durability, { minReplicas: 2, timeoutMs: 100 });
  });

  it("refuses a negative count and a zero timeout", () => {
    const raw = withQueue({ durability: { minReplicas: -1, timeout: "0s" } });
    assert.deepEqual(problemsOf(raw), [
      "queue.durability.minReplicas: -1 must be an integer ≥ 0",
      'queue.durability.timeout: "0s" must be longer than 0s',
    ]);
  });
});

/**
 * Every config file the repository ships passes `berth config check`, run as the real CLI
 * process with the environment its deployment gives it (the compose file's BERTH_* variables for
 * deploy/config.json, deploy/ha/config.json). A broken example would break the README's quick start or `docker compose up`.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { REPO_ROOT } from "@berth/testing/process-harness";
import { berth } from "./berth-cli.js";

const examples = readdirSync(join(REPO_ROOT, "packages/config/examples"))
  .filter((f) => f.endsWith(".json"))
  .map((f) => `packages/config/examples/${f}`);

/** What docker-compose.yml puts in every Berth container's environment. */
const COMPOSE_ENV = { BERTH_REDIS_URL: "redis://redis:6379", BERTH_DASHBOARD_PASSWORD: "admin-demo" };

const shipped: Array<{ file: string; env: Record<string, string> }> = [
  ...examples.map((file) => ({ file, env: {} })),
  { file: "deploy/config.json", env: COMPOSE_ENV },
  // deploy/ha/compose.yml: Redis through Sentinel, a 3-node NATS cluster.
  { file: "deploy/ha/config.json", env: { BERTH_DASHBOARD_PASSWORD: "admin-demo" } },
];

describe("shipped config files", () => {
  test("the examples directory ships the configs the docs name", () => {
    for (const name of ["seed.json", "full.json", "local-stack.json"]) {
      assert.ok(examples.includes(`packages/config/examples/${name}`), `${name} is missing`);
    }
  });

  for (const { file, env } of shipped) {
    test(`berth config check ${file} exits 0 and prints the resolved config with secrets masked`, async () => {
      const result = await berth(["config", "check", file], env);
      assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}`);
      assert.match(result.stderr, /config OK/);
      const printed = JSON.parse(result.stdout) as { extensions: { events: { sinks: unknown[] } } };
      assert.ok(Array.isArray(printed.extensions.events.sinks));
      for (const secret of ["berth-demo", "admin-demo", "inline-bearer-token", "inline-nats-password", "redis-url-secret"]) {
        assert.ok(!result.stdout.includes(secret), `${file}: "${secret}" printed unmasked`);
      }
    });
  }

  test("berth config check refuses a broken config with exit 2 and names the problem", async () => {
    const result = await berth(["config", "check", "packages/config/examples/seed.json"], { BERTH_HTTP_PORT: "not-a-port" });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /http\.port/);
  });
});

/**
 * The registry and the dashboard processes read one config with one htpasswd block (`{ path }`
 * for both) and treat Basic logins alike (issue 16, finding 4): the same header parser
 * (@berth/htpasswd's parseBasicAuth) and the same failed-attempt limiter — past
 * http.auth.failedAttempts.limit an address gets 429 with Retry-After from either process, while
 * a login verified before still passes. Before, the dashboard split the header on one space and
 * had no limiter at all.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { SHARED_REDIS_URL, freePort, uniqueName } from "@berth/testing";
import { ProcessGroup, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import bcrypt from "bcryptjs";

const LIMIT = 3;
const token = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");

describe("Basic auth: registry and dashboard processes alike", () => {
  const group = new ProcessGroup();
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  /** What each process guards: the registry's API base and a dashboard API read. */
  const targets: Record<"registry" | "dashboard", string> = { registry: "", dashboard: "" };

  before(async () => {
    tmp = await makeTempDir("basic-auth-parity");
    await writeFile(`${tmp.path}/htpasswd`, `ops:${(await bcrypt.hash("ops-pw", 4)).replace(/^\$2b\$/, "$2y$")}\n`);
    const [registryPort, dashboardPort] = [await freePort(), await freePort()];
    const htpasswd = { path: "htpasswd" };
    const config = await writeJsonFile(tmp.path, "config.json", {
      storage: { rootDirectory: `${tmp.path}/root` },
      http: { address: "127.0.0.1", port: registryPort, auth: { htpasswd, failedAttempts: { limit: LIMIT, window: "1m" } } },
      queue: { redis: SHARED_REDIS_URL, prefix: uniqueName("auth-parity") },
      dashboard: { address: "127.0.0.1", port: dashboardPort, auth: { htpasswd } },
      log: { level: "warn" },
    });
    await Promise.all([
      group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port: registryPort } }),
      group.start({ name: "dashboard", script: "apps/dashboard/src/main.ts", args: ["--config", config], ready: { port: dashboardPort } }),
    ]);
    targets.registry = `http://127.0.0.1:${registryPort}/v2/`;
    targets.dashboard = `http://127.0.0.1:${dashboardPort}/api/queues`;
  });

  after(async () => {
    await group.stopAll();
    await tmp?.remove();
  });

  const status = async (url: string, authorization?: string) => {
    const res = await fetch(url, { headers: authorization === undefined ? {} : { authorization } });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get("retry-after") };
  };

  test("the same Authorization headers are accepted and refused by both", async () => {
    const good = token("ops", "ops-pw");
    const cases: [string, number][] = [
      [`Basic ${good}`, 200],
      [`basic ${good}`, 200],
      // Split on one space, the dashboard read an empty token here and refused it.
      [`Basic   ${good}`, 200],
      [`Basic\t${good}`, 200],
      [`Basic ${token("ops", "x")}`, 401],
      ["Basic !!!", 401],
      [`Bearer ${good}`, 401],
    ];
    for (const [authorization, want] of cases) {
      const got = { registry: (await status(targets.registry, authorization)).status, dashboard: (await status(targets.dashboard, authorization)).status };
      assert.deepEqual(got, { registry: want, dashboard: want }, JSON.stringify(authorization));
    }
  });

  test(`past ${LIMIT} failed logins an address gets 429 with Retry-After from both; a remembered login still passes`, async () => {
    for (const [name, url] of Object.entries(targets)) {
      // Wrong passwords until the first 429: the first test's one may already count, so at most
      // LIMIT are answered 401 before it.
      let refused = { status: 0, retryAfter: null as string | null };
      const answers: number[] = [];
      for (let i = 0; i <= LIMIT && refused.status !== 429; i++) {
        refused = await status(url, `Basic ${token("ops", `guess-${i}`)}`);
        answers.push(refused.status);
      }
      assert.equal(refused.status, 429, `${name}: answers to ${answers.length} wrong passwords: ${answers.join(", ")}`);
      assert.ok(answers.length >= LIMIT - 1 && answers.slice(0, -1).every((s) => s === 401), `${name}: ${answers.join(", ")}`);
      const seconds = Number(refused.retryAfter);
      assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `${name} Retry-After: ${refused.retryAfter}`);
      // Unknown users too: the limiter answers before any password check.
      assert.equal((await status(url, `Basic ${token("nobody", "x")}`)).status, 429, name);
      assert.equal((await status(url, `Basic ${token("ops", "ops-pw")}`)).status, 200, `${name}: remembered from the first test`);
      assert.equal((await status(url)).status, 401, `${name}: no credentials is the challenge, not a failure`);
    }
  });
});

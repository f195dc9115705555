/**
 * The README's quick start, exercised: the processes `scripts/stack.mjs` runs (registry,
 * worker-http, worker-nats, dashboard, demo consumer) come up on
 * packages/config/examples/local-stack.json with only ports, Redis, NATS and the storage root
 * changed (env overrides where the config has them: BERTH_HTTP_PORT, BERTH_REDIS_URL,
 * BERTH_QUEUE_PREFIX, BERTH_STORAGE_ROOT), and a skopeo push shows up at the demo consumer over
 * HTTP and NATS, as the README promises.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { type OwnServer, freePort, startNatsServer, startRedisServer, uniqueName } from "@berth/testing";
import { makeTestImage, writeOciLayout } from "@berth/testing/oci-layout-fixture";
import { type LogLine, ProcessGroup, REPO_ROOT, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { skopeoPush } from "@berth/testing/skopeo";

interface Sink {
  name: string;
  type: string;
  address: string;
  channel?: string;
  credentials?: { username: string; password: string };
}
interface Example {
  http: { port: number };
  extensions: { events: { sinks: Sink[] } };
  dashboard: { port: number; auth: { username: string; password: string } };
  workers: { http: { port: number }; nats: { port: number } };
}

const EXAMPLE = join(REPO_ROOT, "packages/config/examples/local-stack.json");

/** Leaf paths whose values differ between two JSON documents. */
function changedPaths(a: unknown, b: unknown, at = ""): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
  if (!isObj(a) || !isObj(b)) return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => changedPaths(a[k], b[k], at === "" ? k : `${at}.${k}`));
}

describe("README quick start on packages/config/examples/local-stack.json", () => {
  const group = new ProcessGroup();
  let redis: OwnServer;
  let nats: OwnServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const example = JSON.parse(readFileSync(EXAMPLE, "utf8")) as Example;
  const httpSink = example.extensions.events.sinks.find((s) => s.type === "http")!;
  const natsSink = example.extensions.events.sinks.find((s) => s.type === "nats")!;
  let registryPort = 0;
  let dashboardPort = 0;
  let consumer: ReturnType<ProcessGroup["processes"]["at"]>;

  before(async () => {
    [redis, nats] = await Promise.all([startRedisServer({ appendonly: true }), startNatsServer({ jetstream: true })]);
    tmp = await makeTempDir("quick-start");
    [registryPort, dashboardPort] = await Promise.all([freePort(), freePort()]);
    const receiverPort = await freePort();

    // The only edits without an env override: listen ports and where the sinks point.
    const derived = structuredClone(example);
    derived.dashboard.port = dashboardPort;
    derived.workers.http.port = 0;
    derived.workers.nats.port = 0;
    const receiverUrl = new URL(httpSink.address);
    receiverUrl.port = String(receiverPort);
    derived.extensions.events.sinks = example.extensions.events.sinks.map((s) =>
      s.type === "http" ? { ...s, address: receiverUrl.toString() } : { ...s, address: nats.url },
    );
    assert.deepEqual(changedPaths(example, derived).sort(), [
      "dashboard.port",
      "extensions.events.sinks.0.address",
      "extensions.events.sinks.1.address",
      "workers.http.port",
      "workers.nats.port",
    ]);
    const config = await writeJsonFile(tmp.path, "local-stack.json", derived);
    const env = {
      BERTH_HTTP_PORT: String(registryPort),
      BERTH_REDIS_URL: redis.url,
      BERTH_QUEUE_PREFIX: uniqueName("quick"),
      BERTH_STORAGE_ROOT: join(tmp.path, "registry"),
    };
    const workerReady = (l: LogLine) => /worker ready/.test(String(l.msg));
    // What scripts/stack.mjs starts, with the same arguments.
    const starts = [
      group.start({
        name: "demo-consumer",
        script: "apps/demo-consumer/src/main.ts",
        args: [
          "--port", String(receiverPort), "--user", httpSink.credentials!.username, "--password", httpSink.credentials!.password,
          "--nats", nats.url, "--subject", natsSink.channel!, "--json",
        ],
        ready: { log: (l) => /NATS events from/.test(String(l.msg)), port: receiverPort },
      }),
      group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], env, ready: { port: registryPort } }),
      group.start({ name: "worker-http", script: "apps/worker-http/src/main.ts", args: ["--config", config], env, ready: { log: workerReady } }),
      group.start({ name: "worker-nats", script: "apps/worker-nats/src/main.ts", args: ["--config", config], env, ready: { log: workerReady } }),
      group.start({ name: "dashboard", script: "apps/dashboard/src/main.ts", args: ["--config", config], env, ready: { port: dashboardPort } }),
    ];
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    consumer = group.processes[0];
  });

  after(async () => {
    await group.stopAll();
    await Promise.allSettled([tmp?.remove(), redis?.destroy(), nats?.destroy()]);
  });

  test("a skopeo push reaches the demo consumer over HTTP and NATS", async () => {
    const dir = join(tmp.path, "layout");
    await writeOciLayout(dir, "1", makeTestImage());
    const push = await skopeoPush(dir, "1", `127.0.0.1:${registryPort}/demo/app:1`);
    assert.equal(push.code, 0, push.stderr);
    const printed = (via: string, type: string) => (l: LogLine) => l.via === via && l.type === type && (l.data as { name?: string }).name === "demo/app";
    for (const via of ["http", "nats"]) {
      await consumer!.waitForLine(printed(via, "zotregistry.repository.created"), { timeoutMs: 20_000 });
      const updated = await consumer!.waitForLine(printed(via, "zotregistry.image.updated"), { timeoutMs: 20_000 });
      assert.equal((updated.data as { reference?: string }).reference, "1");
    }
  });

  test("pnpm demo:push on a machine without skopeo pushes with the built-in client and the demo consumer prints it", async () => {
    // PATH holds only a link to node: no skopeo to find, as on a fresh machine (node's own
    // directory may hold skopeo too: /usr/bin).
    const bin = join(tmp.path, "bin-without-skopeo");
    await mkdir(bin);
    await symlink(process.execPath, join(bin, "node"));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--conditions=development", "--import", "tsx", join(REPO_ROOT, "scripts/demo-push.ts"), "demo/no-skopeo:1", "--registry", `127.0.0.1:${registryPort}`],
      { cwd: REPO_ROOT, env: { ...process.env, PATH: bin }, timeout: 60_000 },
    );
    assert.match(stdout, /skopeo not found .*built-in OCI client/);
    assert.match(stdout, /pushed 127\.0\.0\.1:\d+\/demo\/no-skopeo:1/);
    const updated = (l: LogLine) => l.type === "zotregistry.image.updated" && (l.data as { name?: string }).name === "demo/no-skopeo";
    await consumer!.waitForLine(updated, { timeoutMs: 20_000 });
  });

  test("the dashboard answers /healthz and admits the example's user", async () => {
    const health = await fetch(`http://127.0.0.1:${dashboardPort}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200);
    const { username, password } = example.dashboard.auth;
    const res = await fetch(`http://127.0.0.1:${dashboardPort}/`, {
      headers: { Authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` },
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(res.status, 200);
  });
});

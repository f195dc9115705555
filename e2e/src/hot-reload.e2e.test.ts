/**
 * Hot reload with real processes: a registry, a worker-http and the dashboard on one config
 * file, SIGHUP after each edit. Added sink → the registry routes to it and the worker delivers to it; changed address
 * → the next attempt goes to the new one; removed sink → its held event stays queued (and counted)
 * while nothing new is routed to it, and the dashboard keeps showing it; invalid config → refused, logged, the old one keeps running.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { adminConnection, getSinkStatus } from "@berth/queue";
import { SHARED_REDIS_URL, deleteKeysByPrefix, freePort, uniqueName, waitFor } from "@berth/testing";
import { type HttpEventReceiver, startHttpEventReceiver } from "@berth/testing/event-receivers";
import { makeTestImage } from "@berth/testing/oci-layout-fixture";
import { type LogLine, type ManagedProcess, ProcessGroup, makeTempDir } from "@berth/testing/process-harness";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";

const HOOK = { username: "hook", password: "hook-secret-reload" };
const got = (r: HttpEventReceiver, repo: string) => r.accepted.some((e) => e.type.endsWith("image.updated") && e.data["name"] === repo);

describe("hot reload on SIGHUP (registry, worker-http, dashboard)", () => {
  const group = new ProcessGroup();
  const conn = adminConnection(SHARED_REDIS_URL);
  const prefix = uniqueName("reload");
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let file: string;
  let registry: ManagedProcess;
  let worker: ManagedProcess;
  let dashboard: ManagedProcess;
  let client: RegistryHttpClient;
  const receivers: Record<"a" | "b" | "c", HttpEventReceiver> = {} as never;
  let aDown = false;
  let pushes = 0;

  const sink = (name: string, receiver: HttpEventReceiver) => ({
    name,
    type: "http",
    address: receiver.url,
    timeout: "5s",
    credentials: HOOK,
    // A held retry waits long enough to still be held when the test looks.
    retry: { attempts: 80, delay: "1h", maxDelay: "1h" },
  });
  let registryPort = 0;
  let dashboardPort = 0;
  async function writeConfig(sinks: unknown[] | "invalid"): Promise<void> {
    const events = sinks === "invalid" ? { enable: true, sinks: [{ name: "bad", type: "kafka", address: "x" }] } : { enable: true, sinks };
    await writeFile(
      file,
      JSON.stringify({
        storage: { rootDirectory: `${tmp.path}/storage` },
        http: { address: "127.0.0.1", port: registryPort },
        log: { level: "info" },
        extensions: { events },
        queue: { redis: SHARED_REDIS_URL, prefix },
        workers: { http: { address: "127.0.0.1", port: 0 }, nats: { address: "127.0.0.1", port: 0 } },
        dashboard: { address: "127.0.0.1", port: dashboardPort, auth: { anonymous: true } },
        // These tests pin SIGHUP down; the file watch has its own test below.
        reload: { watch: false },
      }),
    );
  }
  /** SIGHUP to every process; resolves with their reload log lines. */
  async function reload(msg: RegExp): Promise<LogLine[]> {
    const procs = [registry, worker, dashboard];
    const from = procs.map((p) => p.lines.length);
    for (const p of procs) process.kill(p.pid!, "SIGHUP");
    return Promise.all(procs.map((p, i) => p.waitForLine((l) => msg.test(String(l.msg)), { fromLine: from[i], timeoutMs: 20_000 })));
  }
  /** The queues the dashboard shows. */
  async function boards(): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${dashboardPort}/api/queues`, { signal: AbortSignal.timeout(5_000) });
    return ((await res.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
  }
  /** Pushes a new image; returns its repository name. */
  async function push(): Promise<string> {
    const repo = `reload/app-${++pushes}`;
    const image = makeTestImage({});
    for (const blob of [image.config, ...image.layers]) assert.equal(await client.pushBlob(repo, blob), 201);
    assert.equal((await client.putManifest(repo, "1", image.manifest)).status, 201);
    return repo;
  }

  before(async () => {
    tmp = await makeTempDir("reload");
    file = `${tmp.path}/config.json`;
    [registryPort, dashboardPort] = await Promise.all([freePort(), freePort()]);
    receivers.a = await startHttpEventReceiver({ ...HOOK, decide: () => (aDown ? "unavailable" : "accept") });
    receivers.b = await startHttpEventReceiver(HOOK);
    receivers.c = await startHttpEventReceiver(HOOK);
    await writeConfig([sink("a", receivers.a)]);
    const ready = (l: LogLine) => /worker ready/.test(String(l.msg));
    [registry, worker, dashboard] = await Promise.all([
      group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", file], ready: { port: registryPort } }),
      group.start({ name: "worker-http", script: "apps/worker-http/src/main.ts", args: ["--config", file], ready: { log: ready } }),
      group.start({ name: "dashboard", script: "apps/dashboard/src/main.ts", args: ["--config", file], ready: { port: dashboardPort } }),
    ]);
    client = new RegistryHttpClient(`http://127.0.0.1:${registryPort}`);
  });
  after(async () => {
    await group.stopAll();
    await Promise.all(Object.values(receivers).map((r) => r.close()));
    await deleteKeysByPrefix(conn, prefix);
    await conn.quit();
    await tmp?.remove();
  });

  test("an added sink is routed to and delivered to", async () => {
    await writeConfig([sink("a", receivers.a), sink("b", receivers.b)]);
    assert.deepEqual(await boards(), ["sink.http.a", "sink.http.a.dead"]);
    await reload(/^config reloaded/);
    const repo = await push();
    await waitFor("the event at a and at b", () => got(receivers.a, repo) && got(receivers.b, repo), { timeoutMs: 20_000 });
    assert.deepEqual(await boards(), ["sink.http.a", "sink.http.a.dead", "sink.http.b", "sink.http.b.dead"]);
  });

  test("a changed address applies from the next attempt", async () => {
    await writeConfig([sink("a", receivers.a), sink("b", receivers.c)]);
    await reload(/^config reloaded/);
    const repo = await push();
    await waitFor("the event at c", () => got(receivers.c, repo), { timeoutMs: 20_000 });
    assert.equal(got(receivers.b, repo), false, "b's old address gets nothing after the change");
  });

  test("an invalid config is refused and the old one keeps delivering", async () => {
    await writeConfig("invalid");
    const [registryLine, workerLine] = await reload(/^config reload refused/);
    for (const line of [registryLine!, workerLine!]) {
      assert.match(JSON.stringify(line["problems"]), /sinks\[0\]\.type/);
    }
    assert.ok(registry.running && worker.running && dashboard.running);
    const repo = await push();
    await waitFor("the event at a and at c", () => got(receivers.a, repo) && got(receivers.c, repo), { timeoutMs: 20_000 });
  });

  test("a removed sink's held event stays queued; new events are no longer routed to it", async () => {
    aDown = true;
    const held = await push();
    const aSink = { type: "http" as const, name: "a" };
    await waitFor("a's event held in backoff", async () => (await getSinkStatus(conn, prefix, aSink)).delayed >= 1, { timeoutMs: 20_000 });
    const before = await getSinkStatus(conn, prefix, aSink);
    await writeConfig([sink("b", receivers.c)]);
    await reload(/^config reloaded/);
    const repo = await push();
    await waitFor("the new event at c", () => got(receivers.c, repo), { timeoutMs: 20_000 });
    const status = await getSinkStatus(conn, prefix, aSink);
    assert.ok(status.delayed + status.waiting >= 1, `a's held event is still queued: ${JSON.stringify(status)}`);
    assert.equal(got(receivers.a, held), false);
    assert.ok((await boards()).includes("sink.http.a"), "the dashboard still shows a's queue");
    aDown = false;
    // Nothing serves a's queue any more, and the registry routed nothing new to it: the event pushed after the
    // reload added no job to a's queue (compared with before the reload, not with a read made just now).
    assert.equal(status.delayed + status.waiting + status.active, before.delayed + before.waiting + before.active);
  });
});

describe("hot reload when the config file changes (reload.watch, no signal)", () => {
  const group = new ProcessGroup();
  const conn = adminConnection(SHARED_REDIS_URL);
  const prefix = uniqueName("reload-watch");
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const receivers: HttpEventReceiver[] = [];

  after(async () => {
    await group.stopAll();
    await Promise.all(receivers.map((r) => r.close()));
    await deleteKeysByPrefix(conn, prefix);
    await conn.quit();
    await tmp?.remove();
  });

  test("an edited file adds a sink to the registry and the worker without SIGHUP", async () => {
    tmp = await makeTempDir("reload-watch");
    const file = `${tmp.path}/config.json`;
    const registryPort = await freePort();
    const [a, b] = await Promise.all([startHttpEventReceiver(HOOK), startHttpEventReceiver(HOOK)]);
    receivers.push(a, b);
    const sink = (name: string, receiver: HttpEventReceiver) => ({ name, type: "http", address: receiver.url, credentials: HOOK });
    const write = (sinks: unknown[]) =>
      writeFile(
        file,
        JSON.stringify({
          storage: { rootDirectory: `${tmp.path}/storage` },
          http: { address: "127.0.0.1", port: registryPort },
          extensions: { events: { enable: true, sinks } },
          queue: { redis: SHARED_REDIS_URL, prefix },
          workers: { http: { address: "127.0.0.1", port: 0 }, nats: { address: "127.0.0.1", port: 0 } },
        }),
      );
    await write([sink("a", a)]);
    const [registry, worker] = await Promise.all([
      group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", file], ready: { port: registryPort } }),
      group.start({
        name: "worker-http",
        script: "apps/worker-http/src/main.ts",
        args: ["--config", file],
        ready: { log: (l: LogLine) => /worker ready/.test(String(l.msg)) },
      }),
    ]);
    const from = [registry.lines.length, worker.lines.length];
    await write([sink("a", a), sink("b", b)]);
    await Promise.all(
      [registry, worker].map((p, i) => p.waitForLine((l) => /^config reloaded/.test(String(l.msg)), { fromLine: from[i], timeoutMs: 20_000 })),
    );
    const client = new RegistryHttpClient(`http://127.0.0.1:${registryPort}`);
    const repo = "watch/app";
    const image = makeTestImage({});
    for (const blob of [image.config, ...image.layers]) assert.equal(await client.pushBlob(repo, blob), 201);
    assert.equal((await client.putManifest(repo, "1", image.manifest)).status, 201);
    await waitFor("the event at b, the sink the edit added", () => got(b, repo), { timeoutMs: 20_000 });
  });
});

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { BerthConfig, SinkConfig } from "@berth/config";
import { deadLetterQueueName, deliveryJobId, sinkQueueName } from "@berth/queue";
import { countDeadLetters } from "@berth/sink-admin";
import { berthConfig, deleteKeysByPrefix, httpSinkConfig, sampleEvent, seedDeadLetters } from "@berth/sink-admin/test-support";
import { openOutbox } from "@berth/outbox";
import { Registry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, uniqueName, waitFor } from "@berth/testing";
import bcrypt from "bcryptjs";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createDashboardApp } from "./app.js";
import { DashboardAuthError, resolveDashboardAuth } from "./auth-settings.js";
import { HtpasswdError } from "@berth/htpasswd";

const AUTH = { authorization: `Basic ${Buffer.from("op:pw").toString("base64")}` };

describe("dashboard app (real Redis, HTTP)", () => {
  let connection: Redis;
  const prefix = uniqueName("dash-app");
  const open: { server: Server; close(): Promise<void> }[] = [];

  /** A dashboard over one sink of its own (each test's parker only sees its own sink). */
  async function start(sink: SinkConfig, mutate: (c: BerthConfig) => void = () => {}): Promise<string> {
    const config = berthConfig([sink], SHARED_REDIS_URL, prefix);
    config.dashboard.auth = { username: "op", password: "pw", anonymous: false, readOnly: false };
    mutate(config);
    const auth = await resolveDashboardAuth(config.dashboard.auth);
    const dashboard = createDashboardApp({ config, connection, consumerConnection: connection, auth, logger: silentLogger() });
    const server = dashboard.app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    open.push({ server, close: dashboard.close });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  before(() => {
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  });
  after(async () => {
    for (const o of open) {
      o.server.closeAllConnections();
      await new Promise((r) => o.server.close(r));
      await o.close();
    }
    await deleteKeysByPrefix(connection, prefix);
    await connection.quit();
  });

  test("/healthz needs no auth; everything else does", async () => {
    const sink = httpSinkConfig("hook");
    const base = await start(sink);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true, sinks: 1 });
    assert.equal((await fetch(`${base}/api/queues`)).status, 401);
    const res = await fetch(`${base}/api/queues`, { headers: AUTH });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { queues: { name: string; displayName: string }[] };
    assert.deepEqual(
      body.queues.map((q) => [q.name, q.displayName]),
      [
        [sinkQueueName(sink), 'http sink "hook"'],
        [deadLetterQueueName(sink), 'http sink "hook" — dead letters'],
      ],
    );
  });

  test("Bull Board's Retry all on the dead-letter queue replays every event with its id", async () => {
    const sink = httpSinkConfig("retry-all");
    const base = await start(sink);
    const events = [sampleEvent(), sampleEvent(), sampleEvent()];
    await seedDeadLetters(connection, prefix, sink, events);
    const dlq = new Queue(deadLetterQueueName(sink), { connection, prefix });
    await waitFor("dead letters parked as failed", async () => (await dlq.getFailedCount()) === 3);
    const res = await fetch(`${base}/api/queues/${encodeURIComponent(dlq.name)}/retry/failed`, { method: "PUT", headers: AUTH });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { retried: 3, skipped: 0 });
    const live = new Queue(sinkQueueName(sink), { connection, prefix });
    const ids = (await live.getJobs(["waiting"])).map((j) => [j.id, j.data.event.id]);
    assert.deepEqual(
      ids.sort(),
      events.map((e) => [deliveryJobId(e.id, sink.name), e.id]).sort(),
    );
    assert.equal(await countDeadLetters({ connection, prefix, sink }), 0);
    await live.obliterate({ force: true });
    await Promise.all([dlq.close(), live.close()]);
  });

  test("replay routes: one dead letter, unknown ones, then all", async () => {
    const sink = httpSinkConfig("hook");
    const base = await start(sink);
    await seedDeadLetters(connection, prefix, sink, [sampleEvent(), sampleEvent()]);
    const dlq = new Queue(deadLetterQueueName(sink), { connection, prefix });
    await waitFor("dead letters parked as failed", async () => (await dlq.getFailedCount()) === 2);
    const [job] = await dlq.getFailed(0, 0);
    const post = (path: string) => fetch(`${base}/api/dead-letters/${path}`, { method: "POST", headers: AUTH });
    const one = await post(`hook/${job!.id}/replay`);
    assert.equal(one.status, 200);
    assert.deepEqual(await one.json(), { outcome: "replayed" });
    assert.equal((await post("hook/no-such-job/replay")).status, 404);
    assert.equal((await post("nope/1/replay")).status, 404);
    const all = await post("hook/replay-all");
    assert.equal(all.status, 200);
    assert.equal(((await all.json()) as { replayed: number }).replayed, 1);
    assert.equal(await countDeadLetters({ connection, prefix, sink }), 0);
    const live = new Queue(sinkQueueName(sink), { connection, prefix });
    assert.equal(await live.getWaitingCount(), 2);
    await live.obliterate({ force: true });
    await Promise.all([dlq.close(), live.close()]);
  });

  test("read-only: dead letters stay as they are, actions are refused", async () => {
    const sink = httpSinkConfig("read-only");
    const base = await start(sink, (c) => {
      c.dashboard.auth.readOnly = true;
    });
    await seedDeadLetters(connection, prefix, sink, [sampleEvent()]);
    const dlq = new Queue(deadLetterQueueName(sink), { connection, prefix });
    const [job] = await dlq.getJobs(["waiting"]);
    const replay = await fetch(`${base}/api/dead-letters/hook/${job!.id}/replay`, { method: "POST", headers: AUTH });
    assert.equal(replay.status, 403);
    const retry = await fetch(`${base}/api/queues/${encodeURIComponent(dlq.name)}/retry/failed`, { method: "PUT", headers: AUTH });
    assert.equal(retry.status, 405);
    const queues = (await (await fetch(`${base}/api/queues`, { headers: AUTH })).json()) as { queues: { readOnlyMode: boolean }[] };
    assert.ok(queues.queues.every((q) => q.readOnlyMode));
    await dlq.obliterate({ force: true });
    await dlq.close();
  });

  test("/sinks/NAME/ordering shows the repositories an ordered sink holds back; 404 for an unordered sink", async () => {
    const sink = httpSinkConfig("ordered-hook", { ordering: "repository" });
    const base = await start(sink);
    // No worker runs: the three events of one repository queue behind the first.
    const root = await mkdtemp(join(tmpdir(), "berth-dash-ordering-"));
    const config = berthConfig([sink], SHARED_REDIS_URL, prefix);
    config.storage.rootDirectory = root;
    const outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry() });
    try {
      await outbox.publish([sampleEvent("image.updated", "held/app", "1"), sampleEvent("image.updated", "held/app", "2"), sampleEvent("image.updated", "held/app", "3")]);
    } finally {
      await outbox.close();
      await rm(root, { recursive: true, force: true });
    }
    const res = await fetch(`${base}/sinks/ordered-hook/ordering`, { headers: AUTH });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { held: number; repositories: number; heads: { repository: string; headSequence: number; waitingBehind: number }[] };
    assert.equal(body.repositories, 1);
    assert.equal(body.held, 1);
    assert.deepEqual(body.heads.map((h) => [h.repository, h.headSequence, h.waitingBehind]), [["held/app", 1, 2]]);
    assert.equal((await fetch(`${base}/sinks/ordered-hook/ordering`)).status, 401);
    const plain = await start(httpSinkConfig("plain-hook"));
    assert.equal((await fetch(`${plain}/sinks/plain-hook/ordering`, { headers: AUTH })).status, 404);
  });

  test("mutating requests a browser marks as cross-site are refused (403), Berth's and Bull Board's alike", async () => {
    const sink = httpSinkConfig("csrf");
    const base = await start(sink);
    const host = new URL(base).host;
    const queue = encodeURIComponent(sinkQueueName(sink));
    const routes = [
      ["POST", `/api/dead-letters/${sink.name}/replay-all`],
      ["PUT", `/api/queues/${queue}/pause`],
      ["POST", `/api/queues/${queue}/add`],
    ] as const;
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { referer: "https://evil.example/page" },
      { "sec-fetch-site": "cross-site", origin: base },
      { "sec-fetch-site": "same-site" },
    ];
    for (const [method, path] of routes) {
      for (const headers of foreign) {
        const res = await fetch(`${base}${path}`, { method, headers: { ...AUTH, ...headers } });
        assert.equal(res.status, 403, `${method} ${path} ${JSON.stringify(headers)}`);
      }
    }
    // The dashboard's own pages, and scripts that send no browser headers, pass.
    const own: Record<string, string>[] = [{ origin: base, "sec-fetch-site": "same-origin" }, { referer: `http://${host}/queue/x` }, {}];
    for (const headers of own) {
      const res = await fetch(`${base}/api/dead-letters/${sink.name}/replay-all`, { method: "POST", headers: { ...AUTH, ...headers } });
      assert.equal(res.status, 200, JSON.stringify(headers));
    }
    assert.equal((await fetch(`${base}/api/queues`, { headers: { ...AUTH, origin: "https://evil.example" } })).status, 200, "reads pass");
  });

  test("anonymous only when the config says so", async () => {
    await assert.rejects(resolveDashboardAuth({ anonymous: false, readOnly: false }), DashboardAuthError);
    const base = await start(httpSinkConfig("anonymous"), (c) => {
      c.dashboard.auth = { anonymous: true, readOnly: false };
    });
    assert.equal((await fetch(`${base}/api/queues`)).status, 200);
  });
});

describe("htpasswd (the module the registry uses too)", () => {
  test("bcrypt entries ($2y$ as htpasswd -B writes them) verify; other schemes stop the start naming file and line", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-dash-htpasswd-"));
    try {
      const file = join(dir, "htpasswd");
      const hash = (await bcrypt.hash("s3cret", 4)).replace(/^\$2b\$/, "$2y$");
      await writeFile(file, `# operators\nalice:${hash}\n`);
      const verify = await resolveDashboardAuth({ htpasswdPath: file, anonymous: false, readOnly: false });
      assert.equal(await verify?.verify("alice", "s3cret"), true);
      assert.equal(await verify?.verify("alice", "wrong"), false);
      assert.equal(await verify?.verify("mallory", "s3cret"), false);
      await verify?.close?.();
      await writeFile(file, `alice:${hash}\nbob:$apr1$abc$def\n`);
      await assert.rejects(resolveDashboardAuth({ htpasswdPath: file, anonymous: false, readOnly: false }), (err) => {
        return err instanceof HtpasswdError && err.message.startsWith(`${file} line 2: expected user:<bcrypt hash>`);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

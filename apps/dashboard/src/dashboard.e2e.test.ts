/**
 * The operator's path in a real headless Chromium: log in, find the dead-lettered delivery with
 * its error, click Retry, and the HTTP receiver gets the event with its original id. Before that,
 * a page on another origin, visited by the same logged-in browser, tries to replay the dead letter
 * (form POST and fetch): refused with 403, nothing replayed. Needs the Debian `chromium` package
 * (`apt-get install -y chromium`); playwright-core never downloads one.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DeliveryRuntime, startDeliveryRuntime } from "@berth/delivery";
import { DELIVERY_JOB_NAME, deadLetterQueueName, deliveryJobOptions, sinkQueueName } from "@berth/queue";
import { countDeadLetters } from "@berth/sink-admin";
import {
  type TestReceiver,
  berthConfig,
  deleteKeysByPrefix,
  httpSinkConfig,
  sampleEvent,
  startReceiver,
} from "@berth/sink-admin/test-support";
import { createHttpSink } from "@berth/sink-http";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, uniqueName, waitFor } from "@berth/testing";
import bcrypt from "bcryptjs";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { type Browser, type Locator, chromium } from "playwright-core";
import { type Dashboard, createDashboardApp } from "./app.js";
import { resolveDashboardAuth } from "./auth-settings.js";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

describe("dashboard in headless Chromium (real Redis, real delivery runtime, real receiver)", () => {
  const prefix = uniqueName("dash-e2e");
  const sink = httpSinkConfig("hook", { retry: { attempts: 2, delayMs: 10, maxDelayMs: 100 } });
  let connection: Redis;
  let receiver: TestReceiver;
  let runtime: DeliveryRuntime | undefined;
  let dashboard: Dashboard | undefined;
  let server: Server | undefined;
  let browser: Browser | undefined;
  let dir: string;
  let base: string;
  let attacker: Server | undefined;
  let attackerBase: string;

  /** A delivery exactly as the outbox enqueues it; the receiver rejects it (400 = permanent). */
  async function deadLetter(reference: string) {
    const event = sampleEvent("image.updated", "team/api", reference);
    const queue = new Queue(sinkQueueName(sink), { connection, prefix });
    await queue.add(DELIVERY_JOB_NAME, { event, sink: sink.name }, deliveryJobOptions(sink, event.id));
    await queue.close();
    await waitFor("the delivery dead-lettered and parked", async () => (await countDeadLetters({ connection, prefix, sink })) === 1, {
      timeoutMs: 30_000,
    });
    return event;
  }

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install the Debian package (apt-get install -y chromium); this test never downloads a browser`,
    );
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    receiver = await startReceiver(400);
    sink.address = receiver.url;
    const config = berthConfig([sink], SHARED_REDIS_URL, prefix);
    dir = await mkdtemp(join(tmpdir(), "berth-dash-"));
    const htpasswd = join(dir, "htpasswd");
    await writeFile(htpasswd, `operator:${(await bcrypt.hash("night-shift", 4)).replace(/^\$2b\$/, "$2y$")}\n`);
    config.dashboard.auth = { htpasswdPath: htpasswd, anonymous: false, readOnly: false };

    runtime = await startDeliveryRuntime({
      config, sinkType: "http", createSink: createHttpSink, logger: silentLogger(), metrics: createMetricsRegistry("dash-e2e"),
    });
    dashboard = createDashboardApp({
      config, connection, consumerConnection: connection, auth: await resolveDashboardAuth(config.dashboard.auth), logger: silentLogger(),
    });
    const s = dashboard.app.listen(0, "127.0.0.1");
    server = s;
    await new Promise((resolve) => s.once("listening", resolve));
    base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // Another origin (another port): a page that, once opened, tries to replay the dead letters.
    const a = createServer((req, res) => {
      const target = new URL(req.url ?? "/", "http://x").searchParams.get("target") ?? "";
      res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><body>
        <form id="f" method="POST" action="${target}/api/dead-letters/${sink.name}/replay-all" target="sink"></form>
        <iframe name="sink"></iframe>
        <script>
          fetch(${JSON.stringify(target)} + "/api/dead-letters/${sink.name}/replay-all", { method: "POST", mode: "no-cors", credentials: "include" })
            .finally(() => document.getElementById("f").submit());
        </script></body>`);
    });
    a.listen(0, "127.0.0.1");
    attacker = a;
    await new Promise((resolve) => a.once("listening", resolve));
    attackerBase = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
  });

  after(async () => {
    await browser?.close();
    if (attacker) {
      attacker.closeAllConnections();
      await new Promise((r) => attacker?.close(r));
    }
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server?.close(r));
    }
    await dashboard?.close();
    await runtime?.close(5_000);
    await receiver?.close();
    if (connection) {
      await deleteKeysByPrefix(connection, prefix);
      await connection.quit();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a page on another origin cannot make the logged-in browser replay dead letters (403); the JSON route still serves scripts", async () => {
    const event = await deadLetter("v0.0.1");
    const context = await browser!.newContext({ httpCredentials: { username: "operator", password: "night-shift" } });
    const page = await context.newPage();
    await page.route((url) => !url.href.startsWith(base) && !url.href.startsWith(attackerBase), (route) => route.abort());
    // What reached the dashboard: each POST, whether it carried credentials, and the answer.
    const answers: { authorized: boolean; status: number }[] = [];
    const record = (req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== "POST") return;
      res.once("finish", () => answers.push({ authorized: req.headers.authorization !== undefined, status: res.statusCode }));
    };
    server!.on("request", record);
    // Logged in first, as an operator with the dashboard open in another tab would be.
    assert.equal((await page.goto(`${base}/api/queues`))?.status(), 200);
    await page.goto(`${attackerBase}/?target=${encodeURIComponent(base)}`);
    await waitFor(
      "the fetch and the form POST answered, one at least sent with the operator's credentials",
      () => answers.length >= 2 && answers.some((a) => a.authorized),
      { timeoutMs: 15_000 },
    );
    server!.off("request", record);
    // Whatever carried the cached credentials got 403; anything sent without them, the challenge.
    console.log(`cross-site POSTs that reached the dashboard: ${JSON.stringify(answers)}`);
    for (const a of answers) assert.equal(a.status, a.authorized ? 403 : 401, JSON.stringify(answers));
    assert.equal(await countDeadLetters({ connection, prefix, sink }), 1, "nothing was replayed");
    assert.ok(!receiver.delivered.includes(event.id));
    await context.close();

    // A script (no browser headers) and the dashboard's own origin may replay.
    receiver.status = 204;
    const res = await fetch(`${base}/api/dead-letters/${sink.name}/replay-all`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("operator:night-shift").toString("base64")}`, origin: base },
    });
    assert.equal(res.status, 200);
    await waitFor("the receiver got the replayed event", () => receiver.delivered.includes(event.id), { timeoutMs: 20_000 });
    receiver.status = 400;
  });

  test("log in, see the dead-lettered delivery with its error, click Retry: the receiver gets the original event id", async () => {
    const event = await deadLetter("v1.2.3");
    const dlq = new Queue(deadLetterQueueName(sink), { connection, prefix });
    assert.equal(await dlq.getFailedCount(), 1);
    assert.ok(!receiver.delivered.includes(event.id));
    receiver.status = 204;

    const context = await browser!.newContext({ httpCredentials: { username: "operator", password: "night-shift" } });
    const page = await context.newPage();
    // Bull Board's page links a web font; nothing may leave the machine.
    await page.route((url) => !url.href.startsWith(base), (route) => route.abort());
    const response = await page.goto(`${base}/queue/${encodeURIComponent(dlq.name)}?status=failed`);
    assert.equal(response?.status(), 200);

    // Exact: the error tab's stack trace quotes the same words once it has loaded.
    await page.getByText("zotregistry.image.updated team/api:v1.2.3", { exact: true }).waitFor({ timeout: 15_000 });
    // The Error tab: the delivery's last error, classified permanent (400), with the attempts.
    const lastError = page.getByText(/PermanentDeliveryError: \S*400/).first();
    await lastError.waitFor({ timeout: 10_000 });
    assert.match((await lastError.textContent()) ?? "", /400/);
    await page.getByText(/attempts 1, first queued/).first().waitFor({ timeout: 5_000 });

    // The job's action buttons are icons; find Retry by the tooltip Bull Board shows on hover.
    const buttons = page.locator("main button:not([role=tab])");
    let retry: Locator | undefined;
    for (let i = 0; i < (await buttons.count()) && !retry; i++) {
      await buttons.nth(i).hover();
      const tips = page.locator("[role=tooltip], [data-side]");
      const shown = await waitFor("tooltip", async () => (await tips.count()) > 0, { timeoutMs: 1_000 }).catch(() => false);
      if (shown && (await tips.allInnerTexts()).some((t) => t.trim() === "Retry")) retry = buttons.nth(i);
    }
    assert.ok(retry, "Bull Board shows a Retry action on the dead letter");
    await retry.click();
    const confirm = page.getByRole("button", { name: /^(Confirm|Retry|Yes)$/ });
    if (await confirm.isVisible().catch(() => false)) await confirm.click();

    await waitFor("the receiver got the replayed event", () => receiver.delivered.includes(event.id), { timeoutMs: 20_000 });
    const got = receiver.received.filter((r) => r.headers["ce-id"] === event.id).at(-1);
    assert.equal(got?.headers["ce-id"], event.id);
    assert.equal(JSON.parse(got?.body ?? "{}").name, "team/api");
    assert.equal(await countDeadLetters({ connection, prefix, sink }), 0);
    await dlq.close();
    await context.close();
  });

  test("anonymous and wrong-password visitors are refused with 401", async () => {
    const anonymous = await browser!.newContext();
    const page = await anonymous.newPage();
    // Chromium answers a 401 challenge it has no credentials for by failing the navigation.
    const [response] = await Promise.all([page.waitForResponse(`${base}/`), page.goto(base).catch(() => undefined)]);
    assert.equal(response.status(), 401);
    assert.match(response.headers()["www-authenticate"] ?? "", /^Basic realm="berth dashboard"/);
    await anonymous.close();
    const wrong = await browser!.newContext({ httpCredentials: { username: "operator", password: "guess" } });
    const page2 = await wrong.newPage();
    const [denied] = await Promise.all([
      page2.waitForResponse(`${base}/api/queues`),
      page2.goto(`${base}/api/queues`).catch(() => undefined),
    ]);
    assert.equal(denied.status(), 401);
    await wrong.close();
    for (const path of ["/", "/api/queues", `/api/dead-letters/${sink.name}/replay-all`]) {
      const res = await fetch(`${base}${path}`, { method: path.includes("replay") ? "POST" : "GET" });
      assert.equal(res.status, 401, path);
    }
  });
});

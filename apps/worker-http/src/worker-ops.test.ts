/**
 * A real worker-http process (main.ts, `--port 0`) delivering to a real receiver over real Redis;
 * its /metrics and /healthz are scraped after a known mix of deliveries and failures.
 */
import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { SinkConfig } from "@berth/config";
import { type WorkerProcess, enqueue, sampleEvent, spawnWorker, writeConfigFile } from "@berth/delivery-contract";
import { adminConnection } from "@berth/queue";
import { SHARED_REDIS_URL, deleteKeysByPrefix, testSinkConfig, uniqueName, waitFor } from "@berth/testing";
import { type Sample, familyNames, parseSamples, sampleValue } from "./test-support/prometheus-text.js";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const RETRY = { attempts: 3, delayMs: 20, maxDelayMs: 50 };

/** Resolved twin of the raw sink written to the config file (the producer side needs it). */
function sinkConfig(name: string, address: string, breaker: SinkConfig["breaker"]): SinkConfig {
  return testSinkConfig({ name, type: "http", address, timeoutMs: 5_000, retry: RETRY, breaker });
}

/**
 * /alpha answers by repository name: `…-4` 503 on its first arrival then 204, `…-5` 400, others
 * 204. /beta always 503.
 */
async function startScriptedReceiver(): Promise<{ url: string; arrivals: Map<string, number>; close(): Promise<void> }> {
  const arrivals = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const name = String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { name?: unknown }).name);
      const seen = (arrivals.get(name) ?? 0) + 1;
      arrivals.set(name, seen);
      let status = 204;
      if (req.url === "/beta") status = 503;
      else if (name.endsWith("-4") && seen === 1) status = 503;
      else if (name.endsWith("-5")) status = 400;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("worker-http process: /metrics and /healthz", () => {
  const conn = adminConnection(SHARED_REDIS_URL);
  const prefix = uniqueName("workerops");
  let receiver: Awaited<ReturnType<typeof startScriptedReceiver>>;
  let worker: WorkerProcess | undefined;
  let removeConfig = async () => {};

  before(async () => {
    receiver = await startScriptedReceiver();
  });
  after(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGKILL");
    await worker?.exited;
    await removeConfig();
    await deleteKeysByPrefix(conn, prefix);
    await conn.quit();
    await receiver.close();
  });

  const scrape = async (path: string) => fetch(`http://127.0.0.1:${worker!.port}${path}`);
  const metrics = async (): Promise<{ text: string; samples: Sample[] }> => {
    const text = await (await scrape("/metrics")).text();
    return { text, samples: parseSamples(text) };
  };

  it("counts deliveries, failures by reason, retries, dead letters, depths, latency and breaker state", async () => {
    // beta's breaker opens on its first failure and stays open for the test (long cool-down).
    const alpha = sinkConfig("alpha", `${receiver.url}/alpha`, { threshold: 1_000, cooldownMs: 1_000 });
    const beta = sinkConfig("beta", `${receiver.url}/beta`, { threshold: 1, cooldownMs: 600_000 });
    const raw = (s: SinkConfig) => ({
      name: s.name,
      type: "http",
      address: s.address,
      timeout: "5s",
      concurrency: 1,
      retry: { attempts: RETRY.attempts, delay: "20ms", maxDelay: "50ms" },
      breaker: { threshold: s.breaker.threshold, cooldown: `${s.breaker.cooldownMs}ms` },
    });
    const cfg = await writeConfigFile({ redisUrl: SHARED_REDIS_URL, prefix, sinks: [raw(alpha), raw(beta)] });
    removeConfig = cfg.remove;
    worker = await spawnWorker(MAIN, cfg.file);

    await enqueue(conn, prefix, alpha, [1, 2, 3, 4, 5].map(sampleEvent));
    await enqueue(conn, prefix, beta, [sampleEvent(6)]);

    const { text, samples } = await waitFor(
      "alpha settled and beta's breaker open",
      async () => {
        const m = await metrics();
        const v = (name: string, labels: Record<string, string>) => sampleValue(m.samples, name, labels);
        // Every figure asserted below that moves on its own: counters and Redis-read gauges are
        // updated at different moments of an attempt, so a scrape between two of them sees only
        // part of the outcome (a busy machine once caught retried_total{sink:"beta"} unset).
        const settled =
          v("berth_delivery_delivered_total", { sink: "alpha" }) === 4 &&
          v("berth_delivery_dead_letter_depth", { sink: "alpha" }) === 1 &&
          v("berth_delivery_dead_lettered_total", { sink: "alpha" }) === 1 &&
          v("berth_delivery_queue_depth", { sink: "alpha" }) === 0 &&
          v("berth_delivery_retried_total", { sink: "alpha" }) === 1 &&
          v("berth_delivery_retried_total", { sink: "beta" }) === 1 &&
          v("berth_delivery_failed_total", { sink: "beta", reason: "http_503" }) === 1 &&
          v("berth_delivery_breaker_transitions_total", { sink: "beta", state: "open" }) === 1 &&
          v("berth_delivery_breaker_state", { sink: "beta" }) === 2 &&
          v("berth_delivery_sink_paused", { sink: "beta" }) === 1;
        return settled ? m : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const v = (name: string, labels: Record<string, string>) => sampleValue(samples, name, labels);

    for (const family of [
      "berth_delivery_delivered_total",
      "berth_delivery_failed_total",
      "berth_delivery_retried_total",
      "berth_delivery_dead_lettered_total",
      "berth_delivery_dead_letter_depth",
      "berth_delivery_queue_depth",
      "berth_delivery_latency_seconds",
      "berth_delivery_attempt_duration_seconds",
      "berth_delivery_breaker_state",
      "berth_delivery_breaker_transitions_total",
      "berth_delivery_sink_paused",
    ]) {
      assert.ok(familyNames(text).has(family), `family ${family} exposed`);
    }
    assert.equal(v("berth_delivery_delivered_total", { sink: "alpha", app: "worker-http" }), 4);
    assert.equal(v("berth_delivery_failed_total", { sink: "alpha", reason: "http_503" }), 1);
    assert.equal(v("berth_delivery_failed_total", { sink: "alpha", reason: "http_400" }), 1);
    assert.equal(v("berth_delivery_failed_total", { sink: "beta", reason: "http_503" }), 1);
    assert.equal(v("berth_delivery_retried_total", { sink: "alpha" }), 1, "the 503 is retried, the 400 is not");
    assert.equal(v("berth_delivery_retried_total", { sink: "beta" }), 1);
    assert.equal(v("berth_delivery_dead_lettered_total", { sink: "alpha" }), 1);
    assert.equal(v("berth_delivery_dead_letter_depth", { sink: "alpha" }), 1);
    assert.equal(v("berth_delivery_dead_letter_depth", { sink: "beta" }), 0);
    assert.equal(v("berth_delivery_queue_depth", { sink: "alpha" }), 0);
    assert.equal(v("berth_delivery_queue_depth", { sink: "beta" }), 1, "beta's event waits out the open breaker");
    assert.equal(v("berth_delivery_latency_seconds_count", { sink: "alpha" }), 4);
    assert.ok((v("berth_delivery_latency_seconds_sum", { sink: "alpha" }) ?? -1) >= 0);
    assert.equal(v("berth_delivery_attempt_duration_seconds_count", { sink: "alpha", outcome: "failed" }), 2);
    assert.equal(v("berth_delivery_breaker_state", { sink: "alpha" }), 0);
    assert.equal(v("berth_delivery_breaker_state", { sink: "beta" }), 2);
    assert.equal(v("berth_delivery_breaker_transitions_total", { sink: "beta", state: "open" }), 1);
    assert.equal(v("berth_delivery_sink_paused", { sink: "alpha" }), 0);
    assert.equal(v("berth_delivery_sink_paused", { sink: "beta" }), 1);
    assert.equal(receiver.arrivals.get("contract/repo-6"), 1, "no attempts burnt while the breaker is open");

    const health = await scrape("/healthz");
    assert.equal(health.status, 200);
    const body = (await health.json()) as { ok: boolean; redis: string; closing: boolean; workers: { sink: string; running: boolean }[] };
    assert.equal(body.ok, true);
    assert.equal(body.redis, "ready");
    assert.equal(body.closing, false);
    assert.deepEqual(
      body.workers.map((w) => [w.sink, w.running]),
      [
        ["alpha", true],
        ["beta", true],
      ],
    );

    worker.child.kill("SIGTERM");
    assert.equal((await worker.exited).code, 0, worker.output.slice(-10).join("\n"));
  });
});

/**
 * deploy/'s Grafana dashboard and Prometheus alert rules only use metrics Berth exports: every
 * `berth_*` name in them must be a series of a family that a real registry or worker process
 * shows on its /metrics (families read from their `# TYPE` lines; histograms add _bucket, _sum,
 * _count). A renamed metric fails here instead of leaving an alert that never fires.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SHARED_REDIS_URL, deleteKeysByPrefix, freePort, uniqueName } from "@berth/testing";
import { type LogLine, ProcessGroup, REPO_ROOT, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { Redis } from "ioredis";

const DEPLOY_FILES = ["deploy/grafana/berth-dashboard.json", "deploy/prometheus/berth-alerts.yml"];

/** Series names a /metrics text can carry, from its `# TYPE <name> <kind>` lines. */
function exportedSeries(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, kind] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(`${name}${s}`);
    if (kind === "summary") for (const s of ["_sum", "_count"]) names.add(`${name}${s}`);
  }
  return names;
}

describe("deploy/ dashboards and alerts use exported metrics", () => {
  const group = new ProcessGroup();
  const prefix = uniqueName("deploy-metrics");
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let registryPort = 0;
  let workerPort = 0;

  before(async () => {
    tmp = await makeTempDir("deploy-metrics");
    [registryPort, workerPort] = await Promise.all([freePort(), freePort()]);
    const config = await writeJsonFile(tmp.path, "config.json", {
      storage: { rootDirectory: join(tmp.path, "storage") },
      http: { address: "127.0.0.1", port: registryPort },
      extensions: { events: { enable: true, sinks: [{ name: "hook", type: "http", address: "http://127.0.0.1:9/" }] } },
      queue: { redis: SHARED_REDIS_URL, prefix },
      workers: { http: { address: "127.0.0.1", port: workerPort }, nats: { address: "127.0.0.1", port: 0 } },
    });
    const ready = (l: LogLine) => /worker ready/.test(String(l.msg));
    await Promise.all([
      group.start({ name: "registry", script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port: registryPort } }),
      group.start({ name: "worker-http", script: "apps/worker-http/src/main.ts", args: ["--config", config], ready: { log: ready, port: workerPort } }),
    ]);
  });
  after(async () => {
    await group.stopAll();
    const conn = new Redis(SHARED_REDIS_URL);
    await deleteKeysByPrefix(conn, prefix);
    await conn.quit();
    await tmp?.remove();
  });

  test("every berth_* name in deploy/ is exported by the registry or a worker", async () => {
    const exported = new Set<string>();
    for (const port of [registryPort, workerPort]) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      for (const name of exportedSeries(text)) exported.add(name);
    }
    assert.ok(exported.has("berth_delivery_delivered_total") && exported.has("berth_outbox_events_total"), "both processes scraped");
    for (const file of DEPLOY_FILES) {
      const used = new Set((await readFile(join(REPO_ROOT, file), "utf8")).match(/\bberth_[a-z0-9_]+/g) ?? []);
      assert.ok(used.size > 5, `${file} uses Berth metrics`);
      const unknown = [...used].filter((name) => !exported.has(name));
      assert.deepEqual(unknown, [], `${file} uses metrics no process exports`);
    }
  });
});

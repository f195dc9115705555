/**
 * What the registry and worker processes check at start-up. Issue 21: over a Redis started without
 * AOF, each logs one warning naming the setting that fixes it, and their /healthz report what a
 * Redis crash would lose. Issue 16: the registry removes the temp files a failed write left.
 */
import assert from "node:assert/strict";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type OwnServer, startRedisServer, uniqueName, waitFor } from "@berth/testing";
import { BerthStack } from "./berth-stack.js";

interface Persistence {
  durability?: string;
  appendonly?: string;
}

describe("start-up checks of the registry and worker processes", () => {
  let redis: OwnServer;
  let stack: BerthStack;

  before(async () => {
    redis = await startRedisServer({ appendonly: false });
    stack = await BerthStack.start({
      label: "persistence",
      redisUrl: redis.url,
      queuePrefix: uniqueName("persistence"),
      sinks: [{ name: "persist-http", type: "http", address: "http://127.0.0.1:9/events" }],
      httpWorkers: 1,
      natsWorkers: 0,
      dashboard: false,
    });
  });
  after(async () => {
    await stack?.destroy();
    await redis?.destroy();
  });

  const healthOf = async (url: string) => (await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).json()) as Record<string, unknown>;

  test("/healthz of both reports lost-on-crash; each logged exactly one warning naming appendonly", async () => {
    const worker = stack.httpWorkers[0]!;
    let registryReading: Persistence | undefined;
    let workerReading: Persistence | undefined;
    await waitFor("both /healthz to report Redis persistence", async () => {
      registryReading = ((await healthOf(`${stack.registryUrl}/healthz`)).outbox as { redisPersistence?: Persistence }).redisPersistence;
      workerReading = (await healthOf(`http://127.0.0.1:${stack.workerOpsPort(worker)}/healthz`)).redisPersistence as Persistence | undefined;
      return registryReading !== undefined && workerReading !== undefined;
    });
    for (const reading of [registryReading, workerReading]) {
      assert.equal(reading?.durability, "lost-on-crash");
      assert.equal(reading?.appendonly, "no");
    }
    for (const proc of [stack.registry, worker]) {
      const warnings = proc.lines.filter((l) => /appendonly yes/.test(String(l.msg)));
      assert.equal(warnings.length, 1, `${proc.spec.name}: ${JSON.stringify(warnings)}`);
      assert.equal(warnings[0]!.level, 40, "logged as a warning (pino level 40)");
      assert.deepEqual((warnings[0]!.redisPersistence as Persistence).durability, "lost-on-crash");
    }
  });

  test("a registry restarted over a root with a failed write's temp file removes it and says so", async () => {
    const repo = join(stack.dir, "storage", "left", "over");
    const leftover = join(repo, "index.json.0123456789ab.tmp");
    await stack.registry.stop();
    await mkdir(repo, { recursive: true });
    await writeFile(leftover, "");
    const longAgo = new Date(Date.now() - 3_600_000);
    await utimes(leftover, longAgo, longAgo);
    await stack.registry.start();
    await waitFor("the sweep's log line", () => stack.registry.lines.some((l) => /removed temp files/.test(String(l.msg))));
    const line = stack.registry.lines.find((l) => /removed temp files/.test(String(l.msg)));
    assert.deepEqual(line?.files, ["left/over/index.json.0123456789ab.tmp"]);
    await assert.rejects(utimes(leftover, longAgo, longAgo), { code: "ENOENT" });
  });
});

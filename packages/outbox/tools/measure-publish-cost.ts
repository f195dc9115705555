/**
 * Measures how many Redis round trips one publish costs: a local TCP proxy delays each direction
 * by `DELAY_MS`, so RTT ≈ 2 × DELAY_MS dominates, and publish time / RTT ≈ round trips.
 *   node --conditions=development --import tsx packages/outbox/tools/measure-publish-cost.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import { type Socket, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry, silentLogger } from "@berth/telemetry";
import { deleteKeysByPrefix, uniqueName } from "@berth/testing";
import { Redis } from "ioredis";
import { openOutbox } from "../src/open-outbox.js";
import { testConfig, testEvent, testSink } from "../src/test-support/outbox-fixtures.js";

const DELAY_MS = 10;
const ROUNDS = 40;

function delayedPipe(from: Socket, to: Socket): void {
  from.on("data", (chunk) => setTimeout(() => to.write(chunk), DELAY_MS));
  from.on("close", () => to.destroy());
}

const proxy = createServer((client) => {
  const upstream = connect(6379, "127.0.0.1");
  delayedPipe(client, upstream);
  delayedPipe(upstream, client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
});
await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const address = proxy.address();
const url = `redis://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const root = await mkdtemp(join(tmpdir(), "berth-cost-"));
const prefix = uniqueName("cost");
const sinks = [testSink({ name: "a" }), testSink({ name: "b", type: "nats", channel: "x" })];
const outbox = await openOutbox({
  config: testConfig({ root, redisUrl: url, prefix, sinks }),
  logger: silentLogger(),
  metrics: new Registry(),
  enqueueTimeoutMs: 2_000,
});
const ping = new Redis(url);
try {
  // Warm-up: queue meta, script loading.
  for (let i = 0; i < 3; i++) await outbox.publish([testEvent("image.updated", "warm/up")]);
  const rtts: number[] = [];
  const publishes: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    await ping.ping();
    rtts.push(performance.now() - t);
    t = performance.now();
    await outbox.publish([testEvent("image.updated", `bench/${i}`), testEvent("image.deleted", `bench/${i}`)]);
    publishes.push(performance.now() - t);
  }
  const status = outbox.status();
  const rtt = median(rtts);
  const pub = median(publishes);
  console.log(
    `sinks=2 events/publish=2 rounds=${ROUNDS} median RTT=${rtt.toFixed(1)} ms ` +
      `median publish=${pub.toFixed(1)} ms => ${(pub / rtt).toFixed(2)} RTT per publish (journalDepth=${status.journalDepth})`,
  );
} finally {
  await outbox.close();
  ping.disconnect();
  const cleaner = new Redis();
  await deleteKeysByPrefix(cleaner, prefix);
  cleaner.disconnect();
  proxy.close();
  await rm(root, { recursive: true, force: true });
}

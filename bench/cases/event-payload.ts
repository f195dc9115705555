/**
 * Redis bytes per large-manifest event (issue 16, finding 3): the outbox publishes events whose
 * manifest is 4 MiB (quick: 1 MiB) to two sinks that nothing delivers, as when the sinks are
 * down; the figure is every key the run left in Redis (MEMORY USAGE) divided by the events.
 * Berth: both sinks `payload: thin`. Baseline: both `full`, what zot's event carries and what
 * every sink got before the option existed. Goal (issue 16: one large manifest must not cost N
 * copies in Redis): thin ≤ 0.1× full, so the retained event log must not keep its own copy
 * either (it keeps none above `events.log.maxManifestBytes`, nor one no sink took).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "@berth/config";
import { type BerthEvent, createEventFactory } from "@berth/events";
import { openOutbox } from "@berth/outbox";
import { Registry, silentLogger } from "@berth/telemetry";
import { deleteKeysByPrefix, redisBytesByPrefix, uniqueName, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import type { BenchCase, BenchContext } from "../lib/bench-case.js";
import { interleaved } from "../lib/bench-case.js";
import { progress } from "../lib/progress.js";
import { pairedRatios, summarize } from "../lib/stats.js";
import type { Row } from "../lib/table.js";

const SINKS = 2;

function largeEvents(count: number, manifestBytes: number): BerthEvent[] {
  const factory = createEventFactory();
  const head = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","annotations":{"pad":"';
  const manifest = `${head}${"x".repeat(manifestBytes - head.length - 3)}"}}`;
  return Array.from({ length: count }, (_, i) =>
    factory.build("image.updated", {
      name: "bench/large",
      reference: `v${i}`,
      digest: `sha256:${i.toString(16).padStart(64, "0")}`,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      manifest,
    }),
  );
}

/** Publishes the events through a fresh outbox and returns Redis bytes per event. */
async function bytesPerEvent(ctx: BenchContext, payload: "full" | "thin", events: BerthEvent[]): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), "berth-bench-payload-"));
  const prefix = uniqueName("berth-bench");
  const sinks = Array.from({ length: SINKS }, (_, i) => ({ type: "http", name: `s${i}`, address: "http://127.0.0.1:9/events", payload }));
  const { config } = parseConfig(
    { storage: { rootDirectory: root }, extensions: { events: { enable: true, sinks } }, queue: { redis: ctx.redisUrl, prefix } },
    { env: {} },
  );
  const redis = new Redis(ctx.redisUrl);
  // The figure is bytes, not time: a loaded machine must not push the events into the journal.
  const outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry(), enqueueTimeoutMs: 30_000 });
  try {
    await waitFor("the outbox's Redis connection", () => outbox.status().redisConnected, { timeoutMs: 10_000 });
    // One publish per event, as the registry does per manifest PUT.
    for (const event of events) await outbox.publish([event]);
    if (outbox.status().journalDepth > 0) throw new Error("events went to the journal: Redis too slow to measure");
    return (await redisBytesByPrefix(redis, prefix)) / events.length;
  } finally {
    await outbox.close();
    await deleteKeysByPrefix(redis, prefix);
    redis.disconnect();
    await rm(root, { recursive: true, force: true });
  }
}

async function run(ctx: BenchContext): Promise<Row[]> {
  const manifestBytes = (ctx.quick ? 1 : 4) * 2 ** 20;
  const events = largeEvents(ctx.quick ? 4 : 10, manifestBytes);
  const thin: number[] = [];
  const full: number[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    progress(`event payload: rep ${rep + 1}/${ctx.reps}`);
    await interleaved(
      rep,
      async () => {
        thin.push((await bytesPerEvent(ctx, "thin", events)) / 1024);
      },
      async () => {
        full.push((await bytesPerEvent(ctx, "full", events)) / 1024);
      },
    );
  }
  return [
    {
      case: `Redis bytes per event with a ${manifestBytes / 2 ** 20} MiB manifest, ${SINKS} sinks: thin vs full (lower is better)`,
      unit: "KB",
      berth: summarize(thin),
      baseline: summarize(full),
      ratio: summarize(pairedRatios(thin, full)),
      goal: { kind: "ratio-at-most", value: 0.1 },
    },
  ];
}

export const eventPayload: BenchCase = {
  id: "event-payload",
  title: "Redis bytes per large-manifest event, thin vs full payload",
  method:
    "An outbox (in process, real Redis) publishes 10 image.updated events with a 4 MiB manifest, one publish each, to 2 " +
    "http sinks nothing delivers; the figure is MEMORY USAGE summed over every key of the run's prefix (job hashes, " +
    "lists, streams, meta) ÷ events, in KB. Berth column: both sinks `payload: thin`; baseline: both `full` (zot's " +
    "event, the only form before). A sink with `maxManifestBytes` below the manifest size costs what thin does. The event log " +
    "(default settings: no manifest above 256 KiB, none that every sink left out) is part of the figure. Goal: thin ≤ 0.1× full.",
  run,
};

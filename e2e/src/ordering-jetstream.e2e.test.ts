/**
 * Ordered delivery to NATS JetStream (issue 17): events over 50 repositories published through
 * the registry's outbox, two worker-nats processes, a NATS restart mid-run (every in-flight
 * publish fails and is retried with jittered backoff) and one worker SIGKILLed. The stream of the
 * `ordering: repository` sink holds each repository's events in strictly increasing `sequence`;
 * the unordered sink's stream on the same run holds every event too. JetStream drops re-sends by
 * `Nats-Msg-Id`, so each stream holds each event once: lost 0, no repeat.
 *
 * Size: BERTH_ORDERING_EVENTS (default 300) over 50 repositories; BERTH_ORDERING_SEED replays.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "@berth/config";
import { type WorkerProcess, spawnWorker, writeConfigFile } from "@berth/delivery-contract";
import { type BerthEvent, createEventFactory } from "@berth/events";
import { type Outbox, openOutbox } from "@berth/outbox";
import { Registry, silentLogger } from "@berth/telemetry";
import { type OwnServer, SHARED_REDIS_URL, deleteKeysByPrefix, seededRandom, startNatsServer, uniqueName, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { type StoredMessage, createStream, readStream } from "./jetstream-stream.js";

const EVENTS = Number(process.env.BERTH_ORDERING_EVENTS ?? 300);
const REPOS = 50;
const seed = Number(process.env.BERTH_ORDERING_SEED ?? Math.floor(Math.random() * 2 ** 31));
const WORKER_MAIN = fileURLToPath(new URL("../../apps/worker-nats/src/main.ts", import.meta.url));

const random = seededRandom(seed);
const prefix = uniqueName("ordering-js");
const subject = (side: string) => `berth.ordering.${side}`;
const stream = (side: string) => `ORDERING_${side.toUpperCase()}`;
let nats: OwnServer;
let redis: Redis;
let config: { file: string; remove(): Promise<void> };
let outbox: Outbox | undefined;
const workers: WorkerProcess[] = [];

before(async () => {
  console.log(`ordering (JetStream) seed ${seed}, ${EVENTS} events over ${REPOS} repositories`);
  redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  nats = await startNatsServer({ jetstream: true });
  for (const side of ["ordered", "plain"]) await createStream(nats.url, stream(side), subject(side), 10 * 60_000);
  const retry = { attempts: 50, delay: "50ms", maxDelay: "400ms" };
  const breaker = { threshold: 100_000, cooldown: "1s" };
  const sink = (side: string) => ({ name: `js-${side}`, type: "nats", address: nats.url, channel: subject(side), jetstream: true, timeout: "2s", retry, breaker });
  config = await writeConfigFile({ redisUrl: SHARED_REDIS_URL, prefix, sinks: [{ ...sink("ordered"), ordering: "repository" }, sink("plain")] });
  for (let i = 0; i < 2; i++) workers.push(await spawnWorker(WORKER_MAIN, config.file));
  const { config: parsed } = await loadConfig({ file: config.file, env: {} });
  outbox = await openOutbox({ config: parsed, logger: silentLogger(), metrics: new Registry() });
});

after(async () => {
  for (const w of workers) w.child.kill("SIGTERM");
  await Promise.all(workers.map((w) => w.exited));
  await outbox?.close();
  await nats?.destroy();
  await deleteKeysByPrefix(redis, prefix);
  redis.disconnect();
  await config?.remove();
});

/** Per repository, messages whose sequence is not above the previous one's. */
function inversions(messages: readonly StoredMessage[]): string[] {
  const last = new Map<string, number>();
  const bad: string[] = [];
  for (const { event } of messages) {
    const repo = String(event.data.name);
    const seq = Number((event as { sequence?: string }).sequence);
    if (seq <= (last.get(repo) ?? 0)) bad.push(`${repo}: ${seq} after ${last.get(repo)}`);
    last.set(repo, Math.max(seq, last.get(repo) ?? 0));
  }
  return bad;
}

test("ordered JetStream sink: each repository in sequence through a NATS restart and a SIGKILLed worker", { timeout: 240_000 }, async () => {
  const factory = createEventFactory();
  const events: BerthEvent[] = Array.from({ length: EVENTS }, (_, i) =>
    factory.build("image.updated", { name: `js/r${Math.floor(random() * REPOS)}`, reference: `t${i}`, digest: "sha256:0f" }),
  );
  const count = async (side: string) => (await readStream(nats.url, stream(side)).catch(() => [])).length;
  const publishing = (async () => {
    for (let i = 0; i < events.length; i += 4) await Promise.all(events.slice(i, i + 4).map((e) => outbox!.publish([e])));
  })();
  await waitFor("a quarter in the ordered stream", async () => (await count("ordered")) >= EVENTS / 4, { timeoutMs: 120_000 });
  await nats.stop("SIGTERM");
  workers[0]!.child.kill("SIGKILL");
  await workers[0]!.exited;
  await nats.start();
  await publishing;
  await waitFor("every event in both streams", async () => (await count("ordered")) >= EVENTS && (await count("plain")) >= EVENTS, {
    timeoutMs: 180_000,
  });

  const ids = events.map((e) => e.id).sort();
  for (const side of ["ordered", "plain"]) {
    const messages = await readStream(nats.url, stream(side));
    assert.deepEqual(messages.map((m) => m.event.id).sort(), ids, `${side}: every event once`);
    if (side === "ordered") assert.deepEqual(inversions(messages), [], "ordered stream inversions");
    else console.log(`plain stream: ${inversions(messages).length} inversions`);
  }
});

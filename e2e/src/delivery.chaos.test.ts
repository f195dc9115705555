/**
 * Chaos: at least 2,000 events from real manifest PUTs, delivered to an HTTP sink and a NATS
 * JetStream sink while, at seeded-random moments, a random worker is SIGKILLed every few seconds
 * (and restarted), the HTTP receiver answers 30 % 503, holds 10 % beyond the sink timeout and
 * resets some connections, Redis (AOF, fsync always) is SIGKILLed and restarted once, NATS is
 * restarted once, and registry replicas are SIGKILLed and restarted: two replicas serve one
 * storage root (clients round-robin across them, a failed attempt goes to the next one); one is
 * killed in the middle of the Redis outage, with events in its journal (a live replica, or its
 * own next start, adopts that journal), and one again later. At the end every event
 * reached every sink at least once, none is lost, no dead letters; duplicates are counted.
 *
 * The set of produced events is not taken on trust: every push the registry answered 201 must
 * have its image.updated (by repository, tag, digest) at both sinks, every event id seen at one
 * sink must be at the other, and the registry's own events counter (last scrape of each run)
 * cannot exceed what arrived.
 *
 * Run: pnpm test:chaos   (BERTH_CHAOS_SEED=N to replay a schedule)
 *
 * BERTH_CHAOS_REDIS=sentinel runs it on Redis Sentinel (a master, a replica, three sentinels)
 * with `queue.durability.minReplicas: 1`: the Redis fault is then a SIGKILL of the master, a
 * failover to the replica and the old master's return as a replica.
 *
 * BERTH_CHAOS_REGISTRIES=N runs N registry replicas (default 2; 1 is the single-registry run:
 * the registry is then killed once, after the Redis outage).
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { adminConnection, getSinkStatus, type RedisConnection } from "@berth/queue";
import {
  type OwnRedisSentinel,
  type OwnServer,
  seededRandom,
  startNatsServer,
  startRedisSentinel,
  startRedisServer,
  uniqueName,
  waitFor,
} from "@berth/testing";
import { type HttpEventReceiver, type ReceiverVerdict, startHttpEventReceiver } from "@berth/testing/event-receivers";
import { type ContentBlob, makeTestImage, manifestFor } from "@berth/testing/oci-layout-fixture";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";
import { BerthStack, REGISTRY_USER, sumSamples } from "./berth-stack.js";
import { createStream, deleteStream, readStream } from "./jetstream-stream.js";
import { redisConfigOf, redisDeploymentKind } from "./redis-deployment.js";

const PUSHES = 2_000;
const REPOS = 16;
const PUSHERS = 4;
/** Pushes per second overall, so production spans the fault window. */
const PUSH_RATE = 28;
const HTTP_TIMEOUT_MS = 1_000;
const HOOK = { username: "hook", password: "hook-secret-chaos" };
const T = "zotregistry";
const CHAOS_REDIS = redisDeploymentKind("BERTH_CHAOS_REDIS", process.env.BERTH_CHAOS_REDIS);
if (CHAOS_REDIS === "cluster") throw new Error("BERTH_CHAOS_REDIS=cluster: the chaos suite runs on server (default) or sentinel");
const ON_SENTINEL = CHAOS_REDIS === "sentinel";
const REGISTRIES = Number(process.env.BERTH_CHAOS_REGISTRIES ?? 2);
if (!Number.isInteger(REGISTRIES) || REGISTRIES < 1) throw new Error(`BERTH_CHAOS_REGISTRIES must be a whole number ≥ 1, got ${process.env.BERTH_CHAOS_REGISTRIES}`);


const seed = Number(process.env.BERTH_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const random = seededRandom(seed);
const between = (lo: number, hi: number) => lo + random() * (hi - lo);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let redis: OwnServer | undefined;
let sentinel: OwnRedisSentinel | undefined;
let nats: OwnServer;
let receiver: HttpEventReceiver;
let stack: BerthStack;
let redisClient: RedisConnection | undefined;
const prefix = uniqueName("chaos");
const subject = `berth.chaos.${uniqueName("s").replaceAll("-", "_")}`;
const stream = `CHAOS_${uniqueName("s").replaceAll("-", "_")}`;

before(async () => {
  console.log(`chaos seed ${seed}${ON_SENTINEL ? " on Redis Sentinel" : ""}, ${REGISTRIES} registry replica${REGISTRIES > 1 ? "s" : ""}`);
  nats = await startNatsServer({ jetstream: true });
  if (ON_SENTINEL) sentinel = await startRedisSentinel({ replicas: 1 });
  else redis = await startRedisServer({ appendonly: true });
  await createStream(nats.url, stream, subject, 10 * 60_000);
  receiver = await startHttpEventReceiver({
    ...HOOK,
    slowMs: HTTP_TIMEOUT_MS * 2,
    decide: (): ReceiverVerdict => {
      const r = random();
      return r < 0.3 ? "unavailable" : r < 0.4 ? "slow" : r < 0.45 ? "reset" : "accept";
    },
  });
  // Short retries so the schedule (50 attempts, waits up to 2 s) outlasts every fault.
  const retry = { attempts: 50, delay: "100ms", maxDelay: "2s" };
  const breaker = { threshold: 10, cooldown: "1s" };
  stack = await BerthStack.start({
    label: "chaos",
    redisUrl: sentinel ? redisConfigOf(sentinel.topology()) : redis!.url,
    ...(sentinel ? { durability: { minReplicas: 1, timeout: "250ms" } } : {}),
    queuePrefix: prefix,
    logLevel: "info",
    sinks: [
      { name: "chaos-http", type: "http", address: receiver.url, timeout: `${HTTP_TIMEOUT_MS}ms`, credentials: HOOK, retry, breaker },
      { name: "chaos-nats", type: "nats", address: nats.url, channel: subject, jetstream: true, timeout: "2s", retry, breaker },
    ],
    httpWorkers: 2,
    natsWorkers: 2,
    dashboard: false,
    registryReplicas: REGISTRIES,
  });
});

after(async () => {
  await stack?.destroy();
  await receiver?.close();
  redisClient?.disconnect();
  if (nats) await deleteStream(nats.url, stream).catch(() => {});
  await Promise.allSettled([redis?.destroy(), sentinel?.destroy(), nats?.destroy()]);
});

/**
 * The one Redis fault: a restart of the server, or under Sentinel a failover and a rejoin.
 * `duringOutage` runs while Redis is away (the registries journal every push meanwhile).
 */
async function redisFault(pause: number, duringOutage: () => Promise<void>): Promise<void> {
  if (sentinel) {
    const old = await sentinel.master();
    await old.stop("SIGKILL");
    await Promise.all([sentinel.waitFailover(old), duringOutage()]);
    await sleep(pause);
    await old.start();
    await sentinel.waitReplica(old);
    return;
  }
  await redis!.stop("SIGKILL");
  await duringOutage();
  await sleep(pause);
  await redis!.start();
}

interface Push {
  repo: string;
  tag: string;
  manifest: ContentBlob;
}

/** What happened during the run, for the final accounting. */
const run = {
  accepted: [] as Push[],
  failedAttempts: 0,
  /** 5xx answers: a push must never get one, even while Redis is down. */
  serverErrors: [] as string[],
  workerKills: 0,
  /** Registry replicas SIGKILLed (by replica index), and how many of them while Redis was down. */
  registryKills: [] as number[],
  killsInOutage: 0,
  /** Last scraped berth_outbox_events_total of each registry run (`<replica>:<run>`). */
  registryEventCounts: {} as Record<string, number>,
  journaled: {} as Record<string, number>,
};

/** Scrapes one registry replica's current run. */
async function scrapeRegistry(replica: number): Promise<void> {
  const key = `${replica}:${stack.registries[replica]!.starts}`;
  try {
    const res = await fetch(`${stack.registryUrls[replica]}/metrics`, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    run.registryEventCounts[key] = sumSamples(text, "berth_outbox_events_total", {});
    run.journaled[key] = sumSamples(text, "berth_outbox_journaled_total", {});
  } catch {
    // registry down or busy: the previous scrape of this run stays
  }
}

const scrapeRegistries = () => Promise.all(stack.registries.map((_, i) => scrapeRegistry(i)));

/** SIGKILLs one registry replica (its last counters scraped first) and starts it again. */
async function killRegistry(replica: number): Promise<void> {
  await scrapeRegistry(replica);
  await stack.registries[replica]!.kill();
  run.registryKills.push(replica);
  await stack.registries[replica]!.start();
}

test(
  "chaos: ≥ 2,000 events to HTTP + JetStream sinks through worker kills, Redis/NATS restarts, a registry crash and a flaky receiver",
  { timeout: 290_000 },
  async () => {
    const started = Date.now();
    const clients = stack.registryUrls.map((url) => new RegistryHttpClient(url, REGISTRY_USER));
    const client = clients[0]!;
    // One config + layer per repository; manifests differ by an annotation, so each tag is a new digest.
    const base = makeTestImage({ layerBytes: 256 });
    const repos = Array.from({ length: REPOS }, (_, i) => `chaos/r${i}`);
    for (const repo of repos) {
      for (const blob of [base.config, ...base.layers]) assert.equal(await client.pushBlob(repo, blob), 201);
    }

    let producing = true;
    const pushOne = async (p: Push, i: number): Promise<void> => {
      // A client retries a failed push (registry down, Redis outage slow path, timeouts) as skopeo
      // would; round-robin across the replicas, as a load balancer would, each retry on the next.
      for (let attempt = 0; attempt < 200; attempt++) {
        try {
          const res = await clients[(i + attempt) % clients.length]!.putManifest(p.repo, p.tag, p.manifest, 10_000);
          if (res.status === 201) {
            run.accepted.push(p);
            return;
          }
          if (res.status >= 500) run.serverErrors.push(`${p.repo}:${p.tag} ${res.status} ${res.body.slice(0, 200)}`);
        } catch {
          // connection refused / reset while the registry is down: retried below
        }
        run.failedAttempts++;
        await sleep(200);
      }
      throw new Error(`push ${p.repo}:${p.tag} never succeeded`);
    };
    const pushers = Array.from({ length: PUSHERS }, async (_, k) => {
      for (let i = k; i < PUSHES; i += PUSHERS) {
        const slot = started + (i / PUSH_RATE) * 1000;
        if (Date.now() < slot) await sleep(slot - Date.now());
        const repo = repos[i % REPOS]!;
        const manifest = manifestFor(base.config, base.layers, { "berth.chaos/seq": String(i) });
        await pushOne({ repo, tag: `t${i}`, manifest }, i);
      }
    });
    const production = Promise.all(pushers).finally(() => {
      producing = false;
    });

    const span = (PUSHES / PUSH_RATE) * 1000;
    // One-off faults at random moments inside the production window (seeded).
    const redisAt = between(0.1, 0.3) * span;
    const natsAt = between(0.35, 0.55) * span;
    const registryAt = between(0.6, 0.8) * span;
    const until = (at: number) => sleep(Math.max(0, started + at - Date.now()));
    // With replicas, one is killed in the Redis outage (its journal holds events) and one later.
    const outageVictim = REGISTRIES > 1 ? Math.floor(random() * REGISTRIES) : -1;
    const laterVictim = Math.floor(random() * REGISTRIES);
    const outagePause = between(1_000, 4_000);
    const oneOffs = [
      (async () => {
        await until(redisAt);
        await redisFault(outagePause, async () => {
          if (outageVictim < 0) return;
          // Killed once its journal holds some of the pushes made since Redis went away.
          await sleep(outagePause / 2);
          await killRegistry(outageVictim);
          run.killsInOutage++;
        });
      })(),
      (async () => {
        await until(natsAt);
        await nats.stop("SIGTERM");
        await sleep(between(1_000, 4_000));
        await nats.start();
      })(),
      (async () => {
        await until(registryAt);
        await killRegistry(laterVictim);
      })(),
    ];
    const scraper = (async () => {
      while (producing) {
        await scrapeRegistries();
        await sleep(500);
      }
    })();
    // A random worker SIGKILLed every few seconds, restarted at once, while events are produced.
    const killer = (async () => {
      while (producing) {
        await sleep(between(2_000, 5_000));
        if (!producing) break;
        const w = stack.workers[Math.floor(random() * stack.workers.length)]!;
        if (!w.running) continue;
        await w.kill();
        run.workerKills++;
        await w.start();
      }
    })();

    await production;
    await Promise.all([...oneOffs, killer, scraper]);
    await scrapeRegistries();
    for (const w of stack.workers) if (!w.running) await w.start();

    // Accounting: what the registry accepted vs what each sink has.
    const key = (repo: unknown, tag: unknown, digest: unknown) => `${repo} ${tag} ${digest}`;
    const expectedKeys = new Set(run.accepted.map((p) => key(p.repo, p.tag, p.manifest.digest)));
    const keysOf = (events: Array<{ type: string; data: Record<string, unknown> }>) =>
      new Set(events.filter((e) => e.type === `${T}.image.updated`).map((e) => key(e.data.name, e.data.reference, e.data.digest)));

    redisClient = adminConnection(sentinel ? sentinel.topology() : redis!.url, "berth-chaos-check");
    const sinks = [
      { type: "http" as const, name: "chaos-http" },
      { type: "nats" as const, name: "chaos-nats" },
    ];
    let natsEvents: Awaited<ReturnType<typeof readStream>> = [];
    const complete = async () => {
      for (const s of sinks) {
        const st = await getSinkStatus(redisClient!, prefix, s);
        if (st.waiting + st.active + st.delayed + st.failed > 0) return false;
      }
      const httpIds = new Set(receiver.accepted.map((e) => e.id));
      natsEvents = await readStream(nats.url, stream);
      const natsIds = new Set(natsEvents.map((m) => m.event.id));
      const all = new Set([...httpIds, ...natsIds]);
      if (all.size !== httpIds.size || all.size !== natsIds.size) return false;
      const httpKeys = keysOf(receiver.accepted);
      const natsKeys = keysOf(natsEvents.map((m) => m.event));
      return [...expectedKeys].every((k) => httpKeys.has(k) && natsKeys.has(k));
    };
    // Bounded drain: stalled jobs of the last killed worker come back within ~15 s.
    const drained = await waitFor("every event at both sinks and queues drained", complete, {
      timeoutMs: 120_000,
      intervalMs: 2_000,
    }).catch(() => false);

    natsEvents = await readStream(nats.url, stream);
    const httpIds = receiver.accepted.map((e) => e.id);
    const natsIds = natsEvents.map((m) => m.event.id);
    const produced = new Set([...httpIds, ...natsIds]);
    const httpKeys = keysOf(receiver.accepted);
    const natsKeys = keysOf(natsEvents.map((m) => m.event));
    const httpSet = new Set(httpIds);
    const natsSet = new Set(natsIds);
    const missingKeys = (have: Set<string>) => [...expectedKeys].filter((k) => !have.has(k));
    const lostIds = [...produced].filter((id) => !httpSet.has(id)).length + [...produced].filter((id) => !natsSet.has(id)).length;
    // A 201 whose event never reached a sink counts too (it may be missing from both id sets).
    const lostKeys = missingKeys(httpKeys).length + missingKeys(natsKeys).length;
    const lost = lostIds + lostKeys;
    const duplicates = httpIds.length - httpSet.size + (natsIds.length - natsSet.size);
    let deadLettered = 0;
    let leftInQueues = 0;
    const statuses = [];
    for (const s of sinks) {
      const st = await getSinkStatus(redisClient, prefix, s);
      statuses.push(st);
      deadLettered += st.deadLetters;
      leftInQueues += st.waiting + st.active + st.delayed + st.failed;
    }
    const expected = produced.size * sinks.length;
    const delivered = [...produced].filter((id) => httpSet.has(id)).length + [...produced].filter((id) => natsSet.has(id)).length;
    console.log(`events ${expected}, delivered ${delivered}, lost ${lost}, duplicates ${duplicates}, dead-lettered ${deadLettered}`);

    // A killed replica's journal, adopted by a live replica or by its own next run (their log lines).
    const adoptions = stack.registries.flatMap((r) =>
      r.lines.filter((l) => /adopted the journal/.test(String(l.msg))).map((l) => ({ by: r.spec.name, events: l.events })),
    );
    const detail = JSON.stringify({
      seed,
      seconds: Math.round((Date.now() - started) / 1000),
      uniqueEvents: produced.size,
      pushesAccepted: run.accepted.length,
      failedPushAttempts: run.failedAttempts,
      serverErrors: run.serverErrors.slice(0, 5),
      workerKills: run.workerKills,
      registryKills: run.registryKills,
      adoptions,
      receiver: receiver.counts,
      httpDuplicates: httpIds.length - httpSet.size,
      natsStreamDuplicates: natsIds.length - natsSet.size,
      registryEventCounts: run.registryEventCounts,
      journaled: run.journaled,
      leftInQueues,
      statuses,
      workersRunning: stack.workers.map((w) => w.running),
      missingHttpKeys: missingKeys(httpKeys).slice(0, 5),
      missingNatsKeys: missingKeys(natsKeys).slice(0, 5),
    });
    if (!drained || lost > 0 || deadLettered > 0) {
      // Keep the processes' warnings and errors for the post-mortem (the stack dir is removed).
      const file = join(tmpdir(), `berth-chaos-${seed}.log`);
      const lines = stack.group.processes.flatMap((p) =>
        p.lines.filter((l) => l.raw || Number(l.level) >= 40).map((l) => `${p.spec.name} ${JSON.stringify(l)}`),
      );
      await writeFile(file, `${lines.join("\n")}\n`);
      console.log(`chaos process logs (warn and up): ${file}`);
    }
    assert.ok(drained, `not every event arrived: ${detail}`);
    assert.equal(lost, 0, detail);
    assert.equal(deadLettered, 0, detail);
    assert.equal(leftInQueues, 0, detail);
    assert.equal(run.accepted.length, PUSHES, detail);
    assert.deepEqual(run.serverErrors, [], detail);
    assert.ok(expected >= 2_000, `at least 2,000 events across both sinks: ${detail}`);
    // Each registry run's last scraped counter is a lower bound of what it published.
    const published = Object.values(run.registryEventCounts).reduce((a, b) => a + b, 0);
    assert.ok(published > 0 && published <= produced.size, `registry published ${published}, arrived ${produced.size}`);
    // The outage went through the journals, and every journal is empty now (a killed replica's
    // was adopted and relayed; any left behind would still hold segments).
    for (const url of stack.registryUrls) {
      const health = (await (await fetch(`${url}/healthz`)).json()) as { outbox?: { journalDepth?: number } };
      assert.equal(health.outbox?.journalDepth, 0, `${url}: ${JSON.stringify(health)}`);
    }
    assert.deepEqual(await stack.journalSegments(), [], "journal segments left on disk");
    assert.ok(Object.values(run.journaled).some((n) => n > 0), `the Redis outage sent events through the journal: ${detail}`);
    // The faults really happened.
    assert.ok(run.workerKills >= 5, detail);
    assert.ok(receiver.counts.unavailable > 0 && receiver.counts.slow > 0 && receiver.counts.reset > 0, detail);
    assert.equal(run.registryKills.length, REGISTRIES > 1 ? 2 : 1, detail);
    assert.equal(run.killsInOutage, REGISTRIES > 1 ? 1 : 0, detail);
    if (REGISTRIES > 1) assert.ok(adoptions.length > 0, `the replica killed in the Redis outage left a journal that was adopted: ${detail}`);
    assert.equal(stack.registries.reduce((n, r) => n + r.starts, 0), REGISTRIES + run.registryKills.length);
  },
);

/**
 * The whole stack on highly available Redis deployments the test starts itself: a Sentinel set
 * (master, replica, three sentinels), a Cluster (3 masters, 3 replicas) and a "lagging" pair (a
 * master and a replica 50 ms away behind a virtual IP, see laggingDeployment). On each: the flow
 * (manifest pushes → both workers deliver → `berth sink status` / `berth dlq list` → dashboard
 * /healthz), then a failover under load: the master holding Berth's keys is SIGKILLed while
 * manifests are pushed, a replica is promoted, the old master comes back as a replica, and with
 * `queue.durability.minReplicas: 1` every push the registry answered 201 has its event at both
 * sinks (lost 0).
 *
 * BERTH_HA_PUSHES (default 1,000, the figure) sets the pushes of each failover run;
 * BERTH_HA_TOPOLOGIES (default "sentinel,cluster,lagging") which deployments run;
 * BERTH_HA_UNSAFE_TOO=1 adds, for Sentinel and the lagging pair, a run without minReplicas that
 * prints how many acknowledged events were lost (no assertion: that is what asynchronous
 * replication may lose).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import {
  type OwnServer,
  SHARED_NATS_URL,
  startRedisCluster,
  startRedisSentinel,
  startRedisServer,
  startTcpRelay,
  uniqueName,
  waitFor,
} from "@berth/testing";
import {
  type ReceivedEvent,
  startHttpEventReceiver,
  startNatsEventSubscriber,
} from "@berth/testing/event-receivers";
import { type ContentBlob, makeTestImage, manifestFor } from "@berth/testing/oci-layout-fixture";
import { REPO_ROOT } from "@berth/testing/process-harness";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";
import { Redis } from "ioredis";
import { BerthStack, REGISTRY_USER, sumSamples } from "./berth-stack.js";
import { redisConfigOf } from "./redis-deployment.js";

const PUSHES = Number(process.env.BERTH_HA_PUSHES ?? 1_000);
const TOPOLOGIES = (process.env.BERTH_HA_TOPOLOGIES ?? "sentinel,cluster,lagging").split(",").map((s) => s.trim());
for (const kind of TOPOLOGIES) {
  if (!["sentinel", "cluster", "lagging"].includes(kind)) throw new Error(`BERTH_HA_TOPOLOGIES: ${kind}? allowed: sentinel, cluster, lagging`);
}
const UNSAFE_TOO = process.env.BERTH_HA_UNSAFE_TOO === "1";
const PUSHERS = 4;
/**
 * Pushes are spread over this window, so they go on through the failover and after it: 16 ms a
 * push (1,000 in 16 s, ~60/s), at least 8 s, so a busy CI machine keeps up with the pace.
 */
const SPAN_MS = Math.max(8_000, PUSHES * 16);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOOK = { username: "hook", password: "hook-secret-ha" };
const T = "zotregistry";

/** A Redis deployment under test, as the config file spells it and as the test drives it. */
interface Deployment {
  raw: string | Record<string, unknown>;
  /** SIGKILLs the master that holds `prefix`'s keys; resolves once a replica has taken over. */
  failover(prefix: string): Promise<OwnServer>;
  /** Starts the killed master again and waits until it replicates the new one. */
  rejoin(old: OwnServer): Promise<void>;
  destroy(): Promise<void>;
}

async function sentinelDeployment(): Promise<Deployment> {
  const set = await startRedisSentinel({ replicas: 1 });
  return {
    raw: redisConfigOf(set.topology()),
    async failover() {
      const old = await set.master();
      await old.stop("SIGKILL");
      await set.waitFailover(old);
      return old;
    },
    async rejoin(old) {
      await old.start();
      await set.waitReplica(old);
    },
    destroy: () => set.destroy(),
  };
}

async function clusterDeployment(): Promise<Deployment> {
  const cluster = await startRedisCluster();
  return {
    raw: redisConfigOf(cluster.topology()),
    async failover(prefix) {
      const old = await cluster.masterFor(`{${prefix}}`);
      await old.stop("SIGKILL");
      await waitFor("a replica to take over the killed master's slots", async () => (await cluster.masterFor(`{${prefix}}`)) !== old, {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      return old;
    },
    async rejoin(old) {
      await old.start();
      await cluster.waitHealthy();
    },
    destroy: () => cluster.destroy(),
  };
}

/** How far the lagging deployment's replica trails its master: each way on the replication link. */
const LAG_MS = 50;

async function redisCall(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 1 });
  try {
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

function waitLinkUp(port: number): Promise<unknown> {
  return waitFor(
    `port ${port} to replicate its master`,
    async () => {
      const text = String(await redisCall(port, "INFO", "replication").catch(() => ""));
      return text.includes("role:slave") && text.includes("master_link_status:up");
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
}

/**
 * A master and a replica LAG_MS away: the replication link runs through a relay that holds every
 * chunk LAG_MS each way (a replica in another zone), and Berth reaches the master through a
 * second relay (a virtual IP). The failover is the loss of the master's machine: the process
 * SIGKILLed and both relays cut, so what the replica had not received yet is gone (a killed
 * process alone would not do: its kernel still delivers what it wrote); then the replica is
 * promoted and the virtual IP moved to it. Pushes acknowledged in the last LAG_MS before the loss
 * are exactly what `minReplicas` exists for.
 */
async function laggingDeployment(): Promise<Deployment> {
  const master = await startRedisServer();
  const servers: OwnServer[] = [master];
  const relays: Array<{ close(): Promise<void> }> = [];
  const destroy = async () => {
    await Promise.allSettled(relays.map((r) => r.close()));
    await Promise.allSettled(servers.map((n) => n.destroy()));
  };
  try {
    const link = await startTcpRelay(master.port, { delayMs: () => LAG_MS });
    relays.push(link);
    const vip = await startTcpRelay(master.port);
    relays.push(vip);
    const replica = await startRedisServer({ replicaOf: link.port });
    servers.push(replica);
    await waitLinkUp(replica.port);
    return {
      raw: `redis://127.0.0.1:${vip.port}`,
      async failover() {
        const killed = master.stop("SIGKILL");
        link.cut();
        vip.cut();
        await killed;
        await redisCall(replica.port, "REPLICAOF", "NO", "ONE");
        vip.retarget(replica.port);
        return master;
      },
      async rejoin(old) {
        await old.start();
        await redisCall(old.port, "REPLICAOF", "127.0.0.1", String(replica.port));
        await waitLinkUp(old.port);
      },
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

const DEPLOYMENTS: Record<string, () => Promise<Deployment>> = {
  sentinel: sentinelDeployment,
  cluster: clusterDeployment,
  lagging: laggingDeployment,
};

function runCli(configFile: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--conditions=development", "--import", "tsx", "apps/cli/src/main.ts", ...args, "--config", configFile],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

interface Push {
  repo: string;
  tag: string;
  manifest: ContentBlob;
}

/** A stack (1 × each worker, dashboard) on a fresh deployment, with its receivers. */
async function startHaStack(kind: string, minReplicas: number) {
  const deployment = await DEPLOYMENTS[kind]!();
  try {
    return await startOn(deployment, kind, minReplicas);
  } catch (err) {
    // `after` only sees a stack that started: stop the servers here, by PID.
    await deployment.destroy();
    throw err;
  }
}

async function startOn(deployment: Deployment, kind: string, minReplicas: number) {
  const prefix = uniqueName(`ha-${kind}`);
  const subject = `berth.ha.${uniqueName("s").replaceAll("-", "_")}`;
  const receiver = await startHttpEventReceiver(HOOK);
  const subscriber = await startNatsEventSubscriber({ url: SHARED_NATS_URL, subject });
  const retry = { attempts: 50, delay: "100ms", maxDelay: "2s" };
  const stack = await BerthStack.start({
    label: `ha-${kind}`,
    redisUrl: deployment.raw,
    queuePrefix: prefix,
    durability: { minReplicas, timeout: "250ms" },
    sinks: [
      { name: "ha-http", type: "http", address: receiver.url, timeout: "5s", credentials: HOOK, retry },
      { name: "ha-nats", type: "nats", address: SHARED_NATS_URL, channel: subject, retry },
    ],
    httpWorkers: 1,
    natsWorkers: 1,
    dashboard: true,
  }).catch(async (err: unknown) => {
    await Promise.allSettled([receiver.close(), subscriber.close()]);
    throw err;
  });
  const client = new RegistryHttpClient(stack.registryUrl, REGISTRY_USER);
  const base = makeTestImage({ layerBytes: 128 });
  const repos = Array.from({ length: PUSHERS }, (_, i) => `ha/r${i}`);
  for (const repo of repos) {
    for (const blob of [base.config, ...base.layers]) assert.equal(await client.pushBlob(repo, blob), 201);
  }
  const pushFor = (i: number): Push => ({
    repo: repos[i % repos.length]!,
    tag: `t${i}`,
    manifest: manifestFor(base.config, base.layers, { "berth.ha/seq": `${kind}-${i}` }),
  });
  const updatedKeys = (events: ReceivedEvent[]) =>
    new Set(events.filter((e) => e.type === `${T}.image.updated`).map((e) => `${e.data.name} ${e.data.reference} ${e.data.digest}`));
  const keyOf = (p: Push) => `${p.repo} ${p.tag} ${p.manifest.digest}`;
  return {
    deployment,
    prefix,
    receiver,
    subscriber,
    stack,
    client,
    pushFor,
    /** Acknowledged pushes whose image.updated has not reached each sink. */
    missing(accepted: Push[]): { http: number; nats: number } {
      const http = updatedKeys(receiver.accepted);
      const nats = updatedKeys(subscriber.received);
      return {
        http: accepted.filter((p) => !http.has(keyOf(p))).length,
        nats: accepted.filter((p) => !nats.has(keyOf(p))).length,
      };
    },
    async destroy() {
      await stack.destroy();
      await Promise.allSettled([receiver.close(), subscriber.close()]);
      await deployment.destroy();
    },
  };
}

type HaStack = Awaited<ReturnType<typeof startHaStack>>;

/**
 * PUSHES manifest PUTs by 4 pushers, spread over SPAN_MS; after a third of them were answered, the master holding the
 * keys is SIGKILLed; once a replica took over, the old master rejoins as a replica. Returns the
 * acknowledged pushes and what is missing at each sink once the queues had time to drain.
 */
async function pushThroughFailover(
  h: HaStack,
  drainMs: number,
): Promise<{ accepted: Push[]; missing: { http: number; nats: number }; journaled: number; duplicates: number }> {
  const accepted: Push[] = [];
  const serverErrors: string[] = [];
  let killed: Promise<void> | undefined;
  const started = Date.now();
  const pushers = Array.from({ length: PUSHERS }, async (_, k) => {
    for (let i = k; i < PUSHES; i += PUSHERS) {
      const slot = started + (i * SPAN_MS) / PUSHES;
      if (Date.now() < slot) await sleep(slot - Date.now());
      const p = h.pushFor(i);
      const res = await h.client.putManifest(p.repo, p.tag, p.manifest, 10_000);
      if (res.status === 201) accepted.push(p);
      else serverErrors.push(`${p.repo}:${p.tag} ${res.status} ${res.body.slice(0, 200)}`);
      if (!killed && accepted.length >= PUSHES / 3) {
        killed = h.deployment.failover(h.prefix).then((old) => h.deployment.rejoin(old));
      }
    }
  });
  await Promise.all(pushers);
  await killed;
  assert.deepEqual(serverErrors, [], "no push fails during a failover");
  const done = () => {
    const m = h.missing(accepted);
    return m.http === 0 && m.nats === 0;
  };
  await waitFor("every acknowledged push's event at both sinks", done, { timeoutMs: drainMs, intervalMs: 500 }).catch(() => {});
  const metrics = await (await fetch(`${h.stack.registryUrl}/metrics`)).text();
  const journaled = sumSamples(metrics, "berth_outbox_journaled_total", {});
  if (process.env.BERTH_HA_DEBUG) {
    console.log(metrics.split("\n").filter((l) => l.startsWith("berth_outbox")).join("\n"));
    console.log(h.stack.registry.lines.filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l)).slice(0, 30).join("\n"));
  }
  const ids = [...h.receiver.accepted, ...h.subscriber.received].map((e) => e.id);
  const duplicates = ids.length - new Set(h.receiver.accepted.map((e) => e.id)).size - new Set(h.subscriber.received.map((e) => e.id)).size;
  return { accepted, missing: h.missing(accepted), journaled, duplicates };
}

for (const kind of TOPOLOGIES) {
  describe(`stack on Redis ${kind} with queue.durability.minReplicas 1`, () => {
    let h: HaStack;
    before(async () => {
      h = await startHaStack(kind, 1);
    });
    after(async () => {
      await h?.destroy();
    });

    test("pushes reach both sinks; berth sink status / dlq list and the dashboard work", async () => {
      const pushes = [0, 1, 2].map((i) => h.pushFor(1_000 + i));
      for (const p of pushes) assert.equal((await h.client.putManifest(p.repo, p.tag, p.manifest)).status, 201);
      await waitFor("the pushes' events at both sinks", () => {
        const m = h.missing(pushes);
        return m.http === 0 && m.nats === 0;
      }, { timeoutMs: 30_000 });
      const status = await runCli(h.stack.configFile, "sink", "status", "--json");
      assert.equal(status.code, 0, status.stderr);
      const sinks = status.stdout.trim().split("\n").map((l) => JSON.parse(l) as { sink: string; deadLetters: number });
      assert.deepEqual(sinks.map((s) => [s.sink, s.deadLetters]).sort(), [["ha-http", 0], ["ha-nats", 0]]);
      const dlq = await runCli(h.stack.configFile, "dlq", "list", "--sink", "ha-http");
      assert.equal(dlq.code, 0, dlq.stderr);
      assert.match(dlq.stderr, /^0 dead letter\(s\) for sink ha-http$/m);
      const dash = await fetch(`http://127.0.0.1:${h.stack.dashboardPort}/healthz`, { signal: AbortSignal.timeout(5_000) });
      assert.equal(dash.status, 200);
      const health = (await (await fetch(`${h.stack.registryUrl}/healthz`)).json()) as { outbox?: { redisConnected?: boolean } };
      assert.equal(health.outbox?.redisConnected, true, JSON.stringify(health));
    });

    test(`the master SIGKILLed during ${PUSHES} pushes: every acknowledged push's event is delivered`, { timeout: 240_000 }, async () => {
      const { accepted, missing, journaled, duplicates } = await pushThroughFailover(h, 120_000);
      console.log(
        `ha ${kind} minReplicas 1: pushes ${PUSHES}, acknowledged ${accepted.length}, lost http ${missing.http} nats ${missing.nats}, journaled ${journaled}, duplicates ${duplicates}`,
      );
      assert.equal(accepted.length, PUSHES);
      assert.deepEqual(missing, { http: 0, nats: 0 });
    });
  });
}

for (const kind of UNSAFE_TOO ? TOPOLOGIES.filter((k) => k !== "cluster") : []) {
  describe(`stack on Redis ${kind} without queue.durability (for comparison)`, () => {
    let h: HaStack;
    before(async () => {
      h = await startHaStack(kind, 0);
    });
    after(async () => {
      await h?.destroy();
    });

    test(`the master SIGKILLed during ${PUSHES} pushes: how many acknowledged events were lost`, { timeout: 240_000 }, async () => {
      // Lost events never arrive: a shorter drain bound, then the count is printed, not asserted.
      const { accepted, missing, journaled, duplicates } = await pushThroughFailover(h, 30_000);
      console.log(
        `ha ${kind} minReplicas 0: pushes ${PUSHES}, acknowledged ${accepted.length}, lost http ${missing.http} nats ${missing.nats}, journaled ${journaled}, duplicates ${duplicates}`,
      );
      assert.equal(accepted.length, PUSHES);
    });
  });
}

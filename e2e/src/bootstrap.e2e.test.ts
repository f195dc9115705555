/**
 * `berth sink bootstrap` (issue 17): images pushed with skopeo to the registry process, then a
 * sink added to the config afterwards; bootstrapping it sends one `image.updated` per tag, marked
 * `snapshot: true`, with the tag's digest and its repository's sequence at that moment.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type WorkerProcess, spawnWorker } from "@berth/delivery-contract";
import { SHARED_REDIS_URL, deleteKeysByPrefix, uniqueName, waitFor } from "@berth/testing";
import { type HttpEventReceiver, type ReceivedEvent, startHttpEventReceiver } from "@berth/testing/event-receivers";
import { REPO_ROOT } from "@berth/testing/process-harness";
import { makeTestImage, writeOciLayout } from "@berth/testing/oci-layout-fixture";
import { skopeoPush } from "@berth/testing/skopeo";
import { Redis } from "ioredis";
import { berth } from "./berth-cli.js";
import { BerthStack, REGISTRY_USER } from "./berth-stack.js";

const HOOK = { username: "hook", password: "hook-secret-bootstrap" };
const CREDS = `${REGISTRY_USER.username}:${REGISTRY_USER.password}`;
const prefix = uniqueName("bootstrap");
let stack: BerthStack;
let early: HttpEventReceiver;
let late: HttpEventReceiver;
let lateWorker: WorkerProcess | undefined;
let redis: Redis;

before(async () => {
  redis = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  [early, late] = await Promise.all([startHttpEventReceiver(HOOK), startHttpEventReceiver(HOOK)]);
  stack = await BerthStack.start({
    label: "bootstrap",
    redisUrl: SHARED_REDIS_URL,
    queuePrefix: prefix,
    sinks: [{ name: "early", type: "http", address: early.url, credentials: HOOK }],
    httpWorkers: 1,
    natsWorkers: 0,
    dashboard: false,
  });
});

after(async () => {
  lateWorker?.child.kill("SIGTERM");
  await lateWorker?.exited;
  await stack?.destroy();
  await Promise.allSettled([early?.close(), late?.close()]);
  await deleteKeysByPrefix(redis, prefix);
  redis.disconnect();
});

const key = (e: ReceivedEvent) => `${e.data.name}:${e.data.reference}`;

test("a sink added after the pushes gets one snapshot image.updated per tag from berth sink bootstrap", { timeout: 120_000 }, async () => {
  const tags = [
    ["boot/a", "1"],
    ["boot/a", "2"],
    ["boot/b", "1"],
  ] as const;
  for (const [repo, tag] of tags) {
    const dir = join(stack.dir, "layouts", `${repo.replace("/", "_")}-${tag}`);
    await writeOciLayout(dir, tag, makeTestImage());
    const pushed = await skopeoPush(dir, tag, `${stack.registryHost}/${repo}:${tag}`, { creds: CREDS });
    assert.equal(pushed.code, 0, pushed.stderr);
  }
  const updates = () => early.accepted.filter((e) => e.type.endsWith(".image.updated"));
  await waitFor("the pushes' events at the early sink", () => updates().length === tags.length);

  // The operator adds a sink (ordered, to show snapshots are not held back) and bootstraps it.
  const config = JSON.parse(await readFile(stack.configFile, "utf8")) as { extensions: { events: { sinks: unknown[] } } };
  config.extensions.events.sinks.push({ name: "late", type: "http", address: late.url, credentials: HOOK, ordering: "repository" });
  const lateFile = join(stack.dir, "config-late.json");
  await writeFile(lateFile, JSON.stringify(config));
  lateWorker = await spawnWorker(join(REPO_ROOT, "apps/worker-http/src/main.ts"), lateFile);
  const result = await berth(["sink", "bootstrap", "late", "--config", lateFile]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /sink late: 3 snapshot events queued \(one per tag, 2 repositories\)/);

  await waitFor("the snapshot events", () => late.accepted.length === tags.length);
  const byTag = new Map(updates().map((e) => [key(e), e]));
  assert.deepEqual(late.accepted.map(key).sort(), tags.map(([r, t]) => `${r}:${t}`).sort());
  for (const e of late.accepted) {
    const live = byTag.get(key(e))!;
    assert.equal(e.type, live.type);
    assert.equal(e.headers?.["ce-snapshot"], "true");
    assert.equal(e.data.digest, live.data.digest, `${key(e)} digest`);
    assert.equal(e.data.manifest, live.data.manifest, `${key(e)} manifest`);
    assert.notEqual(e.id, live.id, "a snapshot is a new event");
  }
  // Each snapshot carries its repository's sequence when it was read: after repository.created
  // and its image.updated events (a: 1 + 2 events, b: 1 + 1).
  const sequences = Object.fromEntries(late.accepted.map((e) => [key(e), Number(e.headers?.["ce-sequence"])]));
  assert.deepEqual(sequences, { "boot/a:1": 3, "boot/a:2": 3, "boot/b:1": 2 });
  assert.equal(early.accepted.some((e) => e.headers?.["ce-snapshot"] !== undefined), false, "the early sink got no snapshot");
});

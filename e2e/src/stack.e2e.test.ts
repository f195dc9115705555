/**
 * The whole stack, end to end, as real processes: registry (htpasswd auth, lint on),
 * 2 × worker-http, 2 × worker-nats and the dashboard, on the test's own Redis (AOF) and NATS
 * (JetStream). Real images go in with skopeo; the events come out at a real HTTP receiver that
 * checks Basic auth and at a NATS subscriber, and must be exactly what a zot consumer expects.
 *
 * BERTH_E2E_REDIS=sentinel (a master, a replica, three sentinels) or =cluster (3 masters +
 * 3 replicas) runs the same flow on that deployment instead of one server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { clusterSafePrefix } from "@berth/config";
import { adminConnection, getSinkStatus, type RedisConnection } from "@berth/queue";
import { type OwnServer, startNatsServer, uniqueName, waitFor } from "@berth/testing";
import {
  type HttpEventReceiver,
  type NatsEventSubscriber,
  type ReceivedEvent,
  startHttpEventReceiver,
  startNatsEventSubscriber,
} from "@berth/testing/event-receivers";
import {
  OCI_INDEX,
  OCI_MANIFEST,
  type TestImage,
  type TestIndex,
  makeTestImage,
  makeTestIndex,
  writeOciLayout,
} from "@berth/testing/oci-layout-fixture";
import { skopeoDelete, skopeoInspectRaw, skopeoPush } from "@berth/testing/skopeo";
import { BerthStack, DASHBOARD_USER, REGISTRY_USER, sumSamples } from "./berth-stack.js";
import { type RedisDeployment, redisDeploymentKind, startRedisDeployment } from "./redis-deployment.js";

const HOOK = { username: "hook", password: "hook-secret-e2e" };
const SOURCE_ANNOTATION = "org.opencontainers.image.source";
const CREDS = `${REGISTRY_USER.username}:${REGISTRY_USER.password}`;
const T = "zotregistry";
const REDIS_KIND = redisDeploymentKind("BERTH_E2E_REDIS", process.env.BERTH_E2E_REDIS);

/** Images the lint accepts carry the mandatory annotation. */
const SOURCE = { [SOURCE_ANNOTATION]: "https://example.com/berth-e2e" };
const annotated = (): TestImage => makeTestImage({ annotations: SOURCE });

describe(`berth stack end to end (registry, 2 × worker-http, 2 × worker-nats, dashboard) on Redis ${REDIS_KIND}`, () => {
  let redis: RedisDeployment;
  let nats: OwnServer;
  let receiver: HttpEventReceiver;
  let subscriber: NatsEventSubscriber;
  let stack: BerthStack;
  let redisClient: RedisConnection;
  const prefix = uniqueName("e2e");
  const subject = `berth.e2e.${uniqueName("s").replaceAll("-", "_")}`;
  const app = { v1: annotated(), v2: annotated() };

  before(async () => {
    [redis, nats] = await Promise.all([startRedisDeployment(REDIS_KIND), startNatsServer({ jetstream: true })]);
    receiver = await startHttpEventReceiver(HOOK);
    subscriber = await startNatsEventSubscriber({ url: nats.url, subject });
    stack = await BerthStack.start({
      label: "e2e-stack",
      redisUrl: redis.config,
      queuePrefix: prefix,
      lint: { mandatoryAnnotations: [SOURCE_ANNOTATION] },
      sinks: [
        { name: "e2e-http", type: "http", address: receiver.url, timeout: "5s", credentials: HOOK },
        { name: "e2e-nats", type: "nats", address: nats.url, channel: subject },
      ],
      httpWorkers: 2,
      natsWorkers: 2,
      dashboard: true,
    });
  });

  after(async () => {
    await stack?.destroy();
    await Promise.allSettled([receiver?.close(), subscriber?.close()]);
    redisClient?.disconnect();
    await Promise.allSettled([redis?.destroy(), nats?.destroy()]);
  });

  /** Events of `repo` at a sink, in arrival order. */
  const of = (events: ReceivedEvent[], repo: string) => events.filter((e) => e.data.name === repo);
  const kinds = (events: ReceivedEvent[]) => events.map((e) => e.type.slice(T.length + 1));
  /** `ce-sequence` over HTTP (binary mode), `sequence` in NATS's structured JSON. */
  const sequenceOf = (e: ReceivedEvent) => Number(e.headers?.["ce-sequence"] ?? (e as { sequence?: string }).sequence);
  /** These sinks are unordered: a push's two events may arrive either way round; `sequence` tells their order. */
  const bySequence = (events: ReceivedEvent[]) => [...events].sort((a, b) => sequenceOf(a) - sequenceOf(b));

  /** Waits until both sinks have `n` events of `repo`. */
  async function arrived(repo: string, n: number): Promise<{ http: ReceivedEvent[]; nats: ReceivedEvent[] }> {
    await waitFor(
      `${n} events of ${repo} at both sinks`,
      () => of(receiver.accepted, repo).length >= n && of(subscriber.received, repo).length >= n,
      { timeoutMs: 20_000 },
    );
    return { http: of(receiver.accepted, repo), nats: of(subscriber.received, repo) };
  }

  async function push(repo: string, tag: string, content: TestImage | TestIndex, all = false) {
    const dir = join(stack.dir, "layouts", `${repo.replaceAll("/", "_")}-${tag}`);
    await writeOciLayout(dir, tag, content);
    return skopeoPush(dir, tag, `${stack.registryHost}/${repo}:${tag}`, { creds: CREDS, all });
  }

  function assertRequestContext(e: ReceivedEvent, method: string): void {
    assert.deepEqual(e.data.actor, { name: REGISTRY_USER.username }, `actor of ${e.type}`);
    const request = e.data.request as { addr: string; method: string; useragent: string };
    assert.match(request.addr, /^127\.0\.0\.1(:\d+)?$/, "request.addr is the client's address");
    assert.equal(request.method, method);
    assert.match(request.useragent, /skopeo\//, "request.useragent is skopeo's");
  }

  test("skopeo push of an image: repository.created and image.updated at both sinks, with zot's fields", async () => {
    const r = await push("e2e/app", "1", app.v1);
    assert.equal(r.code, 0, r.stderr);
    const { http, nats: viaNats } = await arrived("e2e/app", 2);
    for (const events of [http, viaNats]) {
      // repository.created comes from the first blob upload, a request before the manifest PUT.
      assert.deepEqual(kinds(bySequence(events)), ["repository.created", "image.updated"]);
      assert.deepEqual(bySequence(events).map(sequenceOf), [1, 2], "a new repository's first sequences");
      const updated = events.find((e) => e.type === `${T}.image.updated`)!;
      assert.equal(updated.data.reference, "1");
      assert.equal(updated.data.digest, app.v1.manifest.digest);
      assert.equal(updated.data.mediaType, OCI_MANIFEST);
      assert.equal(updated.data.manifest, app.v1.manifest.data.toString("utf8"), "manifest = the pushed bytes");
      assertRequestContext(updated, "PUT");
      const created = events.find((e) => e.type === `${T}.repository.created`)!;
      assert.equal(created.data.name, "e2e/app");
      assert.deepEqual(created.data.actor, { name: REGISTRY_USER.username });
      for (const e of events) {
        assert.equal(e.specversion, "1.0");
        assert.equal(e.source, "zotregistry.dev");
        assert.ok(!Number.isNaN(Date.parse(e.time)), `time ${e.time} is RFC 3339`);
      }
    }
    // HTTP binary mode as zot sends it: ce-* headers, JSON body = data.
    const h = http[0]!.headers!;
    assert.equal(h["ce-specversion"], "1.0");
    assert.match(String(h["content-type"]), /^application\/json/);
    assert.equal(receiver.counts.unauthorized, 0, "every delivery carried the sink's basic credentials");
    // The same event ids reached both sinks.
    assert.deepEqual(new Set(http.map((e) => e.id)), new Set(viaNats.map((e) => e.id)));
    // The registry serves what was pushed (digest preserved).
    const raw = await skopeoInspectRaw(`${stack.registryHost}/e2e/app:1`, { creds: CREDS });
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(raw.stdout.trim(), app.v1.manifest.data.toString("utf8"));
  });

  test("a second tag: one more image.updated", async () => {
    const r = await push("e2e/app", "2", app.v2);
    assert.equal(r.code, 0, r.stderr);
    const { http, nats: viaNats } = await arrived("e2e/app", 3);
    for (const events of [http, viaNats]) {
      const updated = events.filter((e) => e.type === `${T}.image.updated`).map((e) => e.data.reference);
      assert.deepEqual(updated, ["1", "2"], "tag 1's event arrived before tag 2's");
    }
  });

  test("a multi-arch index with --all: the platform manifests (by digest) and the tagged index", async () => {
    const multi = makeTestIndex(["amd64", "arm64"], SOURCE);
    const r = await push("e2e/multi", "v1", multi, true);
    assert.equal(r.code, 0, r.stderr);
    const { http, nats: viaNats } = await arrived("e2e/multi", 4);
    for (const events of [http, viaNats]) {
      assert.equal(events.filter((e) => e.type === `${T}.repository.created`).length, 1);
      const updated = events.filter((e) => e.type === `${T}.image.updated`);
      const byRef = new Map(updated.map((e) => [e.data.reference, e]));
      for (const img of multi.images) {
        const e = byRef.get(img.manifest.digest);
        assert.ok(e, `image.updated for platform manifest ${img.manifest.digest} (pushed by digest)`);
        assert.equal(e.data.digest, img.manifest.digest);
        assert.equal(e.data.mediaType, OCI_MANIFEST);
      }
      const index = byRef.get("v1");
      assert.ok(index, "image.updated for the tagged index");
      assert.equal(index.data.digest, multi.index.digest);
      assert.equal(index.data.mediaType, OCI_INDEX);
      assert.equal(index.data.manifest, multi.index.data.toString("utf8"));
      assertRequestContext(index, "PUT");
      // No order is asserted between these three: skopeo PUTs them milliseconds apart and each
      // sink delivers with concurrency 16 on 2 workers, so Berth does not order events that close
      // together (the index's event was seen arriving before its manifests' in about 1 run of 3).
    }
  });

  test("skopeo delete: image.deleted with the deleted digest, after the pushes of that repository", async () => {
    const r = await skopeoDelete(`${stack.registryHost}/e2e/app:1`, { creds: CREDS });
    assert.equal(r.code, 0, r.stderr);
    const { http, nats: viaNats } = await arrived("e2e/app", 4);
    for (const events of [http, viaNats]) {
      assert.equal(events.at(-1)!.type, `${T}.image.deleted`, "the delete is the last event of e2e/app");
      const deleted = events.at(-1)!;
      assert.equal(deleted.data.digest, app.v1.manifest.digest);
      // skopeo deletes by digest (it resolves the tag first).
      assert.equal(deleted.data.reference, app.v1.manifest.digest);
      assert.equal(deleted.data.manifest, undefined, "image.deleted carries no manifest");
      assertRequestContext(deleted, "DELETE");
    }
  });

  test("lint: a manifest without the mandatory annotation is refused and image.lint_failed arrives", async () => {
    const bare = makeTestImage();
    const r = await push("e2e/nolint", "1", bare);
    assert.notEqual(r.code, 0, "skopeo must fail: the registry refuses the manifest");
    assert.match(r.stderr, /MANIFEST_INVALID|manifest invalid/i);
    await waitFor(
      "image.lint_failed at both sinks",
      () =>
        [receiver.accepted, subscriber.received].every((events) =>
          of(events, "e2e/nolint").some((e) => e.type === `${T}.image.lint_failed`),
        ),
      { timeoutMs: 20_000 },
    );
    for (const events of [receiver.accepted, subscriber.received]) {
      // skopeo tries the OCI manifest, then a Docker schema 2 conversion: each refusal is an event.
      const lints = of(events, "e2e/nolint").filter((e) => e.type === `${T}.image.lint_failed`);
      const lint = lints.find((e) => e.data.digest === bare.manifest.digest);
      assert.ok(lint, `image.lint_failed for the OCI manifest ${bare.manifest.digest}`);
      assert.equal(lint.data.reference, "1");
      assert.equal(lint.data.mediaType, OCI_MANIFEST);
      assert.equal(lint.data.manifest, bare.manifest.data.toString("utf8"));
      assertRequestContext(lint, "PUT");
      assert.ok(!of(events, "e2e/nolint").some((e) => e.type === `${T}.image.updated`), "no image.updated for a refused push");
    }
  });

  test("both sinks got the same events, each once; queues drained, dead-letter queues empty", async () => {
    redisClient = adminConnection(redis.topology, "berth-e2e-check");
    const sinks = [
      { type: "http" as const, name: "e2e-http" },
      { type: "nats" as const, name: "e2e-nats" },
    ];
    // The last events (e.g. e2e/nolint's repository.created) may still be on their way.
    await waitFor(
      "both sinks hold the same event ids and the queues are drained",
      async () => {
        const same = new Set(receiver.accepted.map((e) => e.id)).size === new Set(subscriber.received.map((e) => e.id)).size;
        for (const sink of sinks) {
          const st = await getSinkStatus(redisClient, clusterSafePrefix(prefix, redis.topology), sink);
          if (st.waiting + st.active + st.delayed + st.failed > 0) return false;
        }
        return same;
      },
      { timeoutMs: 20_000 },
    ).catch(() => {});
    const httpIds = receiver.accepted.map((e) => e.id);
    const natsIds = subscriber.received.map((e) => e.id);
    assert.equal(new Set(httpIds).size, httpIds.length, "no duplicate at the HTTP receiver without faults");
    assert.equal(new Set(natsIds).size, natsIds.length, "no duplicate at the NATS subscriber without faults");
    assert.deepEqual(new Set(httpIds), new Set(natsIds));
    // 4 of e2e/app, 4 of e2e/multi, repository.created + lint refusals of e2e/nolint.
    assert.deepEqual(kinds(receiver.accepted.filter((e) => !e.type.endsWith("lint_failed"))).sort(), [
      "image.deleted",
      ...Array(5).fill("image.updated"),
      ...Array(3).fill("repository.created"),
    ]);
    for (const sink of sinks) {
      const status = await getSinkStatus(redisClient, clusterSafePrefix(prefix, redis.topology), sink);
      assert.equal(status.waiting + status.active + status.delayed + status.failed, 0, `${sink.name} drained`);
      assert.equal(status.deadLetters, 0, `${sink.name} dead-letter queue empty`);
      assert.equal(status.paused, false);
    }
  });

  test("worker /metrics count the deliveries; dashboard /healthz answers; both worker pairs shared the work", async () => {
    const delivered = {
      http: await stack.sumMetric(stack.httpWorkers, "berth_delivery_delivered_total", { sink: "e2e-http" }),
      nats: await stack.sumMetric(stack.natsWorkers, "berth_delivery_delivered_total", { sink: "e2e-nats" }),
    };
    assert.equal(delivered.http, receiver.accepted.length, "delivered_total (both worker-http) = events accepted");
    assert.equal(delivered.nats, subscriber.received.length, "delivered_total (both worker-nats) = events received");
    const res = await fetch(`http://127.0.0.1:${stack.workerOpsPort(stack.httpWorkers[0]!)}/metrics`);
    const text = await res.text();
    assert.equal(sumSamples(text, "berth_delivery_dead_letter_depth", { sink: "e2e-http" }), 0);
    const health = await fetch(`http://127.0.0.1:${stack.dashboardPort}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200);
    // The dashboard refuses anonymous access and admits its configured user.
    const anon = await fetch(`http://127.0.0.1:${stack.dashboardPort}/`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(anon.status, 401);
    const auth = `Basic ${Buffer.from(`${DASHBOARD_USER.username}:${DASHBOARD_USER.password}`).toString("base64")}`;
    const logged = await fetch(`http://127.0.0.1:${stack.dashboardPort}/`, {
      headers: { Authorization: auth },
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(logged.status, 200);
    const workerHealth = await fetch(`http://127.0.0.1:${stack.workerOpsPort(stack.natsWorkers[1]!)}/healthz`);
    assert.equal(workerHealth.status, 200);
  });

  test("SIGTERM: every process exits 0", async () => {
    await stack.group.stopAll(10_000);
    for (const p of stack.group.processes) {
      assert.deepEqual(p.exits.at(-1), { code: 0, signal: null }, `${p.spec.name} exit\n${p.tail(10)}`);
    }
  });
});

/** Dev-only builders for outbox tests: typed config literals, events, a running outbox. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BerthConfig, DEFAULT_HTTP_LIMITS, DEFAULT_REGISTRY_AUTH, type RedisTopology, type SinkConfig } from "@berth/config";
import { type BerthEvent, type EventKind, createEventFactory } from "@berth/events";
import { Registry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, testQueueConfig, testSinkConfig, waitFor } from "@berth/testing";
import { Redis } from "ioredis";
import { openOutbox } from "../open-outbox.js";
import type { Outbox } from "../outbox.js";

export function testSink(overrides: Partial<SinkConfig> & Pick<SinkConfig, "name">): SinkConfig {
  return testSinkConfig({
    type: "http",
    address: "http://127.0.0.1:9/hook",
    timeoutMs: 1_000,
    retry: { attempts: 3, delayMs: 100, maxDelayMs: 1_000 },
    breaker: { threshold: 5, cooldownMs: 1_000 },
    ...overrides,
  });
}

export function testConfig(options: {
  root: string;
  /** A URL (one server) or a topology the test started. */
  redisUrl: string | RedisTopology;
  prefix: string;
  sinks: SinkConfig[];
  enable?: boolean;
  /** queue.durability.minReplicas (default 0). */
  minReplicas?: number;
}): BerthConfig {
  const listen = { address: "127.0.0.1", port: 0 };
  return {
    distSpecVersion: "1.1.1",
    storage: { rootDirectory: options.root, minFreeBytes: 0 },
    http: { ...listen, auth: { ...DEFAULT_REGISTRY_AUTH }, limits: DEFAULT_HTTP_LIMITS, metricsAuth: false },
    log: { level: "warn" },
    extensions: {
      lint: { enable: false, mandatoryAnnotations: [] },
      events: {
        enable: options.enable ?? true,
        source: "zotregistry.dev",
        typePrefix: "zotregistry", maxManifestBytes: 0,
        sinks: options.sinks,
        log: { maxAgeMs: 86_400_000, maxEvents: 100_000, maxManifestBytes: 256 * 1024 },
      },
    },
    queue: testQueueConfig(options.redisUrl, options.prefix, options.minReplicas),
    dashboard: { ...listen, auth: { anonymous: true, readOnly: true } },
    reload: { watch: false },
    workers: { http: listen, nats: listen },
  };
}

const factory = createEventFactory();

export function testEvent(kind: EventKind, name: string, reference = "latest"): BerthEvent {
  if (kind === "repository.created") return factory.build(kind, { name });
  return factory.build(kind, {
    name,
    reference,
    digest: "sha256:0f0f",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
  });
}

/** An outbox on the shared Redis over a temp root, connected; `stop()` removes its keys and root. */
export async function startTestOutbox(prefix: string, sinks: SinkConfig[]): Promise<{ outbox: Outbox; redis: Redis; stop(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "berth-outbox-"));
  const redis = new Redis(SHARED_REDIS_URL);
  const outbox = await openOutbox({
    config: testConfig({ root, redisUrl: SHARED_REDIS_URL, prefix, sinks }),
    logger: silentLogger(),
    metrics: new Registry(),
  });
  await waitFor("the producer connection", () => outbox.status().redisConnected);
  return {
    outbox,
    redis,
    async stop() {
      await outbox.close();
      await deleteKeysByPrefix(redis, prefix);
      redis.disconnect();
      await rm(root, { recursive: true, force: true });
    },
  };
}

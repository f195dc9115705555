import { type BerthConfig, DEFAULT_HTTP_LIMITS, DEFAULT_REGISTRY_AUTH, type SinkConfig } from "@berth/config";
import { createEventFactory, type BerthEvent, type EventKind } from "@berth/events";
import { DEAD_LETTER_JOB_NAME, type DeadLetterJobData, deadLetterQueueName } from "@berth/queue";
import { testQueueConfig, testSinkConfig } from "@berth/testing";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";

/** A resolved http sink as @berth/config would produce it; `address` defaults to a closed port. */
export function httpSinkConfig(name: string, overrides: Partial<SinkConfig> = {}): SinkConfig {
  return testSinkConfig({
    name,
    type: "http",
    timeoutMs: 5_000,
    retry: { attempts: 3, delayMs: 100, maxDelayMs: 1_000 },
    concurrency: 16,
    ...overrides,
  });
}

/** A full config around the given sinks (the parts the dashboard and CLI read). */
export function berthConfig(sinks: SinkConfig[], redisUrl: string, prefix: string): BerthConfig {
  return {
    distSpecVersion: "1.1.1",
    storage: { rootDirectory: "/tmp/berth-unused", minFreeBytes: 0 },
    http: { address: "127.0.0.1", port: 0, auth: { ...DEFAULT_REGISTRY_AUTH }, limits: DEFAULT_HTTP_LIMITS, metricsAuth: false },
    log: { level: "error" },
    extensions: {
      lint: { enable: false, mandatoryAnnotations: [] },
      events: { enable: true, source: "zotregistry.dev", typePrefix: "zotregistry", maxManifestBytes: 0, sinks, log: { maxAgeMs: 86_400_000, maxEvents: 100_000, maxManifestBytes: 256 * 1024 } },
    },
    queue: testQueueConfig(redisUrl, prefix),
    dashboard: { address: "127.0.0.1", port: 0, auth: { anonymous: false, readOnly: false } },
    reload: { watch: false },
    workers: { http: { address: "127.0.0.1", port: 0 }, nats: { address: "127.0.0.1", port: 0 } },
  };
}

const factory = createEventFactory();

export function sampleEvent(kind: EventKind = "image.updated", repo = "library/alpine", reference = "3.20"): BerthEvent {
  return factory.build(kind, { name: repo, reference, digest: `sha256:${"a".repeat(64)}` });
}

/** Dead-letters events the way the delivery worker does: one waiting job each in the sink's DLQ. */
export async function seedDeadLetters(
  connection: Redis,
  prefix: string,
  sink: SinkConfig,
  events: readonly BerthEvent[],
  failedAt = Date.now(),
): Promise<void> {
  const dlq = new Queue<DeadLetterJobData>(deadLetterQueueName(sink), { connection, prefix });
  try {
    await dlq.addBulk(
      events.map((event) => ({
        name: DEAD_LETTER_JOB_NAME,
        data: {
          event,
          sink: sink.name,
          error: { name: "TransientDeliveryError", message: "HTTP 503 Service Unavailable", reason: "http_503" },
          attempts: sink.retry.attempts,
          enqueuedAt: failedAt - 1_000,
          failedAt,
        },
      })),
    );
  } finally {
    await dlq.close();
  }
}

// The dashboard and CLI tests take every fixture from here.
export { deleteKeysByPrefix } from "@berth/testing";

/**
 * Test fixtures of the contract suite: events, a BerthConfig around one sink, a producer that
 * enqueues the way the outbox does, and Redis clean-up by prefix.
 */
import { type BerthConfig, DEFAULT_HTTP_LIMITS, DEFAULT_REGISTRY_AUTH, type SinkConfig } from "@berth/config";
import { type BerthEvent, createEventFactory } from "@berth/events";
import {
  DELIVERY_JOB_NAME,
  type DeadLetterJobData,
  type DeliveryJobData,
  deadLetterQueueName,
  deliveryJobOptions,
  sinkQueueName,
} from "@berth/queue";
import { testQueueConfig } from "@berth/testing";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";

const factory = createEventFactory({ source: "berth.test" });

export function sampleEvent(n = 0): BerthEvent {
  return factory.build("image.updated", {
    name: `contract/repo-${n}`,
    reference: "v1",
    digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
  });
}

export function configWithSink(sink: SinkConfig, redisUrl: string, prefix: string): BerthConfig {
  const listen = { address: "127.0.0.1", port: 0 };
  return {
    distSpecVersion: "1.1.1",
    storage: { rootDirectory: "/nonexistent", minFreeBytes: 0 },
    http: { ...listen, auth: { ...DEFAULT_REGISTRY_AUTH }, limits: DEFAULT_HTTP_LIMITS, metricsAuth: false },
    log: { level: "warn" },
    extensions: {
      lint: { enable: false, mandatoryAnnotations: [] },
      events: { enable: true, source: "berth.test", typePrefix: "zotregistry", maxManifestBytes: 0, sinks: [sink], log: { maxAgeMs: 86_400_000, maxEvents: 100_000, maxManifestBytes: 256 * 1024 } },
    },
    queue: testQueueConfig(redisUrl, prefix),
    dashboard: { ...listen, auth: { anonymous: true, readOnly: false } },
    reload: { watch: false },
    workers: { http: listen, nats: listen },
  };
}

/** Enqueues events for a sink exactly as the outbox does (same job id and options). */
export async function enqueue(conn: Redis, prefix: string, sink: SinkConfig, events: BerthEvent[]): Promise<void> {
  const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection: conn, prefix });
  try {
    for (let i = 0; i < events.length; i += 500) {
      await queue.addBulk(
        events.slice(i, i + 500).map((event) => ({
          name: DELIVERY_JOB_NAME,
          data: { event, sink: sink.name },
          opts: deliveryJobOptions(sink, event.id),
        })),
      );
    }
  } finally {
    await queue.close();
  }
}

// Kept here too so sink packages get every contract fixture from @berth/delivery-contract.
export { deleteKeysByPrefix } from "@berth/testing";

/** The dead letters of a sink (oldest first), as the dashboard and CLI would read them. */
export async function readDeadLetters(conn: Redis, prefix: string, sink: SinkConfig): Promise<DeadLetterJobData[]> {
  const queue = new Queue<DeadLetterJobData>(deadLetterQueueName(sink), { connection: conn, prefix });
  try {
    const jobs = await queue.getJobs(["waiting", "prioritized", "delayed"], 0, -1, true);
    return jobs.filter((j) => j !== undefined).map((j) => j.data);
  } finally {
    await queue.close();
  }
}

/** How many attempts each job held in backoff (the sink queue's delayed set) has made so far. */
export async function heldAttempts(conn: Redis, prefix: string, sink: SinkConfig): Promise<number[]> {
  const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection: conn, prefix });
  try {
    return (await queue.getDelayed()).map((j) => j.attemptsMade);
  } finally {
    await queue.close();
  }
}

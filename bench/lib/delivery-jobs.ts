/**
 * Delivery jobs exactly as the outbox writes them (the shared job catalog: queue name, payload,
 * job options incl. removeOnComplete), pre-enqueued into a paused queue so that a run measures
 * delivery alone, from the moment the queue is resumed.
 */
import { type BerthConfig, type SinkConfig, parseConfig } from "@berth/config";
import { type BerthEvent, createEventFactory } from "@berth/events";
import { type DeliveryJobData, DELIVERY_JOB_NAME, deliveryJobOptions, sinkQueueName } from "@berth/queue";
import { Queue } from "bullmq";
import { type BenchConfigOptions, rawBerthConfig } from "./berth-config.js";

/** The resolved config Berth's processes will see for these options (defaults filled in). */
export function resolvedConfig(o: BenchConfigOptions): BerthConfig {
  return parseConfig(rawBerthConfig(o), { env: {}, baseDir: o.dir }).config;
}

const factory = createEventFactory();

/** `image.updated` events shaped like a real push (zot includes the manifest). */
export function makeEvents(n: number, repo: string): BerthEvent[] {
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 512 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${"b".repeat(64)}`, size: 4096 }],
  });
  return Array.from({ length: n }, (_, i) =>
    factory.build(
      "image.updated",
      {
        name: repo,
        reference: `v${i}`,
        digest: `sha256:${i.toString(16).padStart(64, "0")}`,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        manifest,
      },
      { request: { addr: "127.0.0.1:50000", method: "PUT", useragent: "berth-bench" } },
    ),
  );
}

export interface SinkQueue {
  queue: Queue<DeliveryJobData>;
  close(): Promise<void>;
}

export function openSinkQueue(redisUrl: string, prefix: string, sink: SinkConfig): SinkQueue {
  const queue = new Queue<DeliveryJobData>(sinkQueueName(sink), { connection: { url: redisUrl }, prefix });
  return { queue, close: () => queue.close() };
}

/** Pauses the sink's queue and adds one job per event, in bulk. */
export async function enqueuePaused(q: SinkQueue, sink: SinkConfig, events: readonly BerthEvent[]): Promise<void> {
  await q.queue.pause();
  for (let i = 0; i < events.length; i += 1000) {
    await q.queue.addBulk(
      events.slice(i, i + 1000).map((event) => ({
        name: DELIVERY_JOB_NAME,
        data: { event, sink: sink.name },
        opts: deliveryJobOptions(sink, event.id),
      })),
    );
  }
}

/** Waits until `count` workers (BullMQ worker connections) are registered on the queue. */
export async function workersOnQueue(q: SinkQueue): Promise<number> {
  return (await q.queue.getWorkers()).length;
}

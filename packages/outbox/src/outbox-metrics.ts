import { Counter, Gauge, Histogram, type Registry } from "@berth/telemetry";

export interface OutboxMetrics {
  events: Counter<"type">;
  enqueued: Counter<"sink">;
  journaled: Counter;
  publishSeconds: Histogram<"outcome">;
}

export interface OutboxGaugeSources {
  journalDepth(): number;
  redisConnected(): boolean;
  /** Journals this process adopted from stopped or dead replicas since it started. */
  journalsAdopted(): number;
}

/**
 * The outbox's series on the process registry. Gauges are read when scraped. Opening a second
 * outbox on the same registry (tests) replaces the first one's series instead of throwing.
 */
export function createOutboxMetrics(registry: Registry, sources: OutboxGaugeSources): OutboxMetrics {
  const fresh = (name: string) => {
    registry.removeSingleMetric(name);
    return { name, registers: [registry] };
  };
  new Gauge({
    ...fresh("berth_outbox_journal_depth"),
    help: "Events waiting in the local journal for Redis",
    collect() {
      this.set(sources.journalDepth());
    },
  });
  new Gauge({
    ...fresh("berth_outbox_redis_connected"),
    help: "1 when the outbox's producer connection to Redis is ready",
    collect() {
      this.set(sources.redisConnected() ? 1 : 0);
    },
  });
  let adoptedSeen = 0;
  new Counter({
    ...fresh("berth_outbox_journals_adopted_total"),
    help: "Journal directories this registry adopted from a stopped or dead replica (or an earlier run) and relayed",
    collect() {
      const adopted = sources.journalsAdopted();
      this.inc(adopted - adoptedSeen);
      adoptedSeen = adopted;
    },
  });
  return {
    events: new Counter({
      ...fresh("berth_outbox_events_total"),
      help: "Events the registry emitted, counted once durable (in Redis or the local journal) or taken by no sink, by CloudEvent type",
      labelNames: ["type"] as const,
    }),
    enqueued: new Counter({
      ...fresh("berth_outbox_enqueued_total"),
      help: "Delivery job adds to a sink queue, directly or by the journal relay (an idempotent re-add counts too)",
      labelNames: ["sink"] as const,
    }),
    journaled: new Counter({
      ...fresh("berth_outbox_journaled_total"),
      help: "Events written to the local journal because Redis was away or slow",
    }),
    publishSeconds: new Histogram({
      ...fresh("berth_outbox_publish_seconds"),
      help: "Time for publish() to make events durable (Redis or journal)",
      labelNames: ["outcome"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
  };
}

import type { SinkConfig } from "@berth/config";
import type { BerthEvent, EventPublisher } from "@berth/events";

import type { RedisPersistence } from "@berth/queue";

export interface OutboxStatus {
  /** False when events are disabled or no sink is configured: no Redis is used at all. */
  enabled: boolean;
  redisConnected: boolean;
  /** Events journaled on local disk, waiting for Redis. */
  journalDepth: number;
  /** What Redis's persistence settings risk for acknowledged events (read once Redis answered). */
  redisPersistence?: RedisPersistence;
}

/**
 * The registry's side of the queue: `publish` resolves once every matching sink's job is in
 * Redis or the event is fsync'd to the local journal; it never rejects because Redis is down.
 */
export interface Outbox extends EventPublisher {
  publish(events: readonly BerthEvent[]): Promise<void>;
  status(): OutboxStatus;
  /**
   * Hot reload: events published (or relayed from the journal) from now on go to these sinks.
   * False when the outbox was opened without events or sinks: enabling them needs a restart.
   */
  applySinks(sinks: readonly SinkConfig[]): boolean;
  close(): Promise<void>;
}

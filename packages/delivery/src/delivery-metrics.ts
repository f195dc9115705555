/**
 * The delivery runtime's Prometheus metrics. Counters and the latency histogram are updated per
 * attempt; queue depths and breaker state are read from Redis when /metrics is scraped.
 */
import type { SinkStatus } from "@berth/queue";
import { Counter, Gauge, Histogram, type Registry } from "@berth/telemetry";

export interface DeliveryMetrics {
  delivered: Counter<"sink">;
  failed: Counter<"sink" | "reason">;
  retried: Counter<"sink">;
  deadLettered: Counter<"sink">;
  latency: Histogram<"sink">;
  attemptDuration: Histogram<"sink" | "outcome">;
  breakerTransitions: Counter<"sink" | "state">;
  /** Ordered sinks: a job taken while an earlier event of its repository was undelivered. */
  heldBack: Counter<"sink">;
}

const BREAKER_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;

/**
 * `readStatuses` is called once per scrape; a failure leaves the gauges at their last values.
 * `redisReady` says whether the worker's Redis connection is up (alerts watch it).
 */
export function createDeliveryMetrics(
  registry: Registry,
  readStatuses: () => Promise<SinkStatus[]>,
  redisReady: () => boolean = () => true,
): DeliveryMetrics {
  const registers = [registry];
  let pending: Promise<SinkStatus[]> | undefined;
  // One Redis read per scrape, shared by the gauges below.
  const statuses = () => {
    pending ??= readStatuses().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  const gauge = (name: string, help: string, pick: (s: SinkStatus) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["sink"],
      registers,
      async collect() {
        try {
          for (const s of await statuses()) this.set({ sink: s.sink }, pick(s));
        } catch {
          // Redis unreachable: keep the last values; health reports the outage.
        }
      },
    });
  gauge("berth_delivery_queue_depth", "Jobs waiting, delayed or active in the sink queue", (s) => s.waiting + s.delayed + s.active);
  gauge("berth_delivery_dead_letter_depth", "Events in the sink's dead-letter queue", (s) => s.deadLetters);
  gauge("berth_delivery_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open", (s) => BREAKER_VALUE[s.breaker]);
  new Gauge({
    name: "berth_delivery_redis_connected",
    help: "1 when the worker's Redis connection is ready",
    registers,
    collect() {
      this.set(redisReady() ? 1 : 0);
    },
  });
  gauge("berth_delivery_sink_paused", "1 while the sink queue is paused (operator, gone or breaker)", (s) => (s.paused ? 1 : 0));

  return {
    delivered: new Counter({ name: "berth_delivery_delivered_total", help: "Events delivered", labelNames: ["sink"], registers }),
    failed: new Counter({
      name: "berth_delivery_failed_total",
      help: "Failed delivery attempts by reason",
      labelNames: ["sink", "reason"],
      registers,
    }),
    retried: new Counter({ name: "berth_delivery_retried_total", help: "Attempts scheduled for retry", labelNames: ["sink"], registers }),
    deadLettered: new Counter({
      name: "berth_delivery_dead_lettered_total",
      help: "Events moved to the dead-letter queue",
      labelNames: ["sink"],
      registers,
    }),
    latency: new Histogram({
      name: "berth_delivery_latency_seconds",
      help: "Event time to confirmed delivery",
      labelNames: ["sink"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
      registers,
    }),
    attemptDuration: new Histogram({
      name: "berth_delivery_attempt_duration_seconds",
      help: "Duration of one delivery attempt",
      labelNames: ["sink", "outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    breakerTransitions: new Counter({
      name: "berth_delivery_breaker_transitions_total",
      help: "Circuit breaker transitions made by this process",
      labelNames: ["sink", "state"],
      registers,
    }),
    heldBack: new Counter({
      name: "berth_delivery_held_back_total",
      help: "Ordered sinks: jobs put back because an earlier event of their repository was undelivered",
      labelNames: ["sink"],
      registers,
    }),
  };
}

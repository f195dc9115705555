/**
 * Events handed to a delivery side at a steady rate, the way the registry produces them: Berth's
 * outbox (openOutbox, in this process, as the registry uses it) or a bare BullMQ `Queue.add` with
 * the same job options. Latency = arrival at the receiver − the moment the event was handed over.
 */
import { DELIVERY_JOB_NAME, type DeliveryJobData, deliveryJobOptions } from "@berth/queue";
import { openOutbox } from "@berth/outbox";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import type { BerthEvent } from "@berth/events";
import { ArrivalLog } from "./arrival-log.js";
import type { Deliverers, DeliverySide } from "./delivery-run.js";
import { makeEvents, openSinkQueue } from "./delivery-jobs.js";
import type { OpenTarget } from "./delivery-targets.js";
import { paced } from "./pacer.js";
import { metricSum } from "./prometheus-text.js";

/** A producer the way each side enqueues. */
export interface Producer {
  send(event: BerthEvent): Promise<unknown>;
  /**
   * Events the outbox wrote to its local journal instead of Redis so far (an enqueue slower than
   * its 250 ms bound, i.e. an overloaded machine): their latency includes the journal's relay.
   */
  journaled(): Promise<number>;
  close(): Promise<void>;
}

export async function openProducer(side: DeliverySide, d: Deliverers, redisUrl: string): Promise<Producer> {
  if (side === "berth") {
    const metrics = createMetricsRegistry("bench-outbox");
    const outbox = await openOutbox({ config: d.config, logger: silentLogger(), metrics });
    return {
      send: (event) => outbox.publish([event]),
      journaled: async () => metricSum(await metrics.metrics(), "berth_outbox_journaled_total") ?? 0,
      close: () => outbox.close(),
    };
  }
  const q = openSinkQueue(redisUrl, d.prefix, d.sink);
  return {
    send: (event) =>
      q.queue.add(DELIVERY_JOB_NAME, { event, sink: d.sink.name } satisfies DeliveryJobData, deliveryJobOptions(d.sink, event.id)),
    journaled: async () => 0,
    close: () => q.close(),
  };
}

/**
 * Sends `count` events at `rate`/s and waits until every one arrived; returns each event's
 * latency in ms, in sending order.
 */
export async function pacedLatencies(
  d: Deliverers,
  producer: Producer,
  target: OpenTarget,
  rate: number,
  count: number,
  what: string,
): Promise<number[]> {
  const events = makeEvents(count, "bench/latency");
  const sentAt = new Float64Array(count);
  const log = new ArrivalLog(new Set(events.map((e) => e.id)));
  const pending: Promise<unknown>[] = [];
  target.receiver.log = log;
  try {
    await paced(rate, count, (i) => {
      // The event's time is the moment it is handed to the producer, as in the registry.
      const event = { ...events[i]!, time: new Date().toISOString() };
      sentAt[i] = performance.now();
      pending.push(producer.send(event));
    });
    await Promise.all(pending);
    await log.waitAll(what, d.procs, 60_000 + count * 5);
  } finally {
    target.receiver.log = undefined;
  }
  return events.map((e, i) => log.arrivals.get(e.id)! - sentAt[i]!);
}

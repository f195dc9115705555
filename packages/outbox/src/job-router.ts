import type { SinkConfig } from "@berth/config";
import { type BerthEvent, shapePayload } from "@berth/events";
import {
  DELIVERY_JOB_NAME,
  type DeliveryJobData,
  deliveryJobOptions,
  sinkQueueName,
} from "@berth/queue";
import type { JobsOptions } from "bullmq";
import { type SinkFilter, createSinkFilter } from "./sink-filter.js";

export interface DeliveryJob {
  name: typeof DELIVERY_JOB_NAME;
  /** The event and the sink's name only: credentials never reach Redis. */
  data: DeliveryJobData;
  opts: JobsOptions;
}

/** Jobs for one sink's queue, in publish order. */
export interface QueueBatch {
  queueName: string;
  sink: string;
  /** The sink has `ordering: repository`: its jobs join their repository's pending set. */
  ordered: boolean;
  jobs: DeliveryJob[];
}

export interface JobRouter {
  /**
   * One job per (event, matching sink), grouped by queue; empty when no sink matches. Each job
   * holds the event as its sink takes it (`payload`, `maxManifestBytes`); sinks that take the
   * same form share one object, which the enqueuer serializes once.
   */
  route(events: readonly BerthEvent[]): QueueBatch[];
}

interface Route {
  sink: SinkConfig;
  queueName: string;
  accepts: SinkFilter;
}

export function createJobRouter(sinks: readonly SinkConfig[]): JobRouter {
  const routes: Route[] = sinks.map((sink) => ({
    sink,
    queueName: sinkQueueName(sink),
    accepts: createSinkFilter(sink),
  }));
  return {
    route(events) {
      const batches: QueueBatch[] = [];
      // Only events a sink takes without their manifest get a second form, shared by every sink
      // that leaves it out for the same reason; a full sink's job holds the event itself, and
      // the map is made only when needed (this runs on every manifest PUT).
      let forms: Map<BerthEvent, Map<string | undefined, BerthEvent>> | undefined;
      const formFor = (event: BerthEvent, sink: SinkConfig): BerthEvent => {
        const shaped = shapePayload(event, sink);
        if (shaped === event) return event;
        forms ??= new Map();
        let known = forms.get(event);
        if (!known) {
          known = new Map();
          forms.set(event, known);
        }
        const shared = known.get(shaped.manifestomitted);
        if (shared) return shared;
        known.set(shaped.manifestomitted, shaped);
        return shaped;
      };
      for (const { sink, queueName, accepts } of routes) {
        const jobs: DeliveryJob[] = [];
        for (const event of events) {
          if (!accepts(event)) continue;
          jobs.push({
            name: DELIVERY_JOB_NAME,
            data: { event: formFor(event, sink), sink: sink.name },
            opts: deliveryJobOptions(sink, event.id),
          });
        }
        if (jobs.length > 0) batches.push({ queueName, sink: sink.name, ordered: sink.ordering === "repository", jobs });
      }
      return batches;
    },
  };
}

/**
 * The events as the journal should keep them while Redis is away: without the manifest when
 * every job routed for the event left it out for the same reason (all its sinks thin, or all
 * capped below its size), so a large manifest is not written to disk for nobody; whole otherwise.
 * The relay routes the journaled form again, and shapePayload keeps it as it is.
 */
export function journalForms(events: readonly BerthEvent[], routed: readonly QueueBatch[]): BerthEvent[] {
  const reasons = new Map<string, Set<string | undefined>>();
  const forms = new Map<string, BerthEvent>();
  for (const batch of routed) {
    for (const job of batch.jobs) {
      const { event } = job.data;
      let seen = reasons.get(event.id);
      if (!seen) {
        seen = new Set();
        reasons.set(event.id, seen);
      }
      seen.add(event.manifestomitted);
      forms.set(event.id, event);
    }
  }
  return events.map((event) => {
    const seen = reasons.get(event.id);
    const form = forms.get(event.id);
    return seen?.size === 1 && form?.manifestomitted !== undefined ? form : event;
  });
}

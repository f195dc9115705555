import type { SinkConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
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
  /** One job per (event, matching sink), grouped by queue; empty when no sink matches. */
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
      for (const { sink, queueName, accepts } of routes) {
        const jobs: DeliveryJob[] = [];
        for (const event of events) {
          if (!accepts(event)) continue;
          jobs.push({
            name: DELIVERY_JOB_NAME,
            data: { event, sink: sink.name },
            opts: deliveryJobOptions(sink, event.id),
          });
        }
        if (jobs.length > 0) batches.push({ queueName, sink: sink.name, ordered: sink.ordering === "repository", jobs });
      }
      return batches;
    },
  };
}

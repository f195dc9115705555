/**
 * The job catalog shared by the producer (outbox) and the consumers (delivery workers, dashboard,
 * CLI): queue names, payload types and job options live here and nowhere else.
 */
import type { SinkConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import type { JobsOptions } from "bullmq";

/** What a delivery job carries: the event and the sink's name, never the sink's credentials. */
export interface DeliveryJobData {
  event: BerthEvent;
  sink: string;
}

/** What a dead-lettered delivery carries: enough to read the failure and to replay it. */
export interface DeadLetterJobData extends DeliveryJobData {
  error: { name: string; message: string; reason: string };
  attempts: number;
  /** Epoch ms of the original job's creation and of the final failure. */
  enqueuedAt: number;
  failedAt: number;
}

export const DELIVERY_JOB_NAME = "deliver";
export const DEAD_LETTER_JOB_NAME = "dead-letter";
export const DEFAULT_QUEUE_PREFIX = "berth";

type SinkRef = Pick<SinkConfig, "type" | "name">;

/** `sink.http.audit` — says the sink type and name; BullMQ forbids `:` in queue names. */
export function sinkQueueName(sink: SinkRef): string {
  return `sink.${sink.type}.${sink.name}`;
}

export function deadLetterQueueName(sink: SinkRef): string {
  return `${sinkQueueName(sink)}.dead`;
}

/** Deterministic, so adding the same event twice for a sink is a no-op while the job exists. */
export function deliveryJobId(eventId: string, sinkName: string): string {
  return `${eventId}.${sinkName}`.replaceAll(":", "_");
}

export const BACKOFF_TYPE = "berth-full-jitter";

export function deliveryJobOptions(sink: SinkConfig, eventId: string): JobsOptions {
  return {
    jobId: deliveryJobId(eventId, sink.name),
    attempts: sink.retry.attempts,
    backoff: { type: BACKOFF_TYPE, delay: sink.retry.delayMs },
    // Must be a job option: on the Worker, `true` is not accepted (BullMQ 6.7).
    removeOnComplete: true,
    // Failed jobs are moved to the dead-letter queue by the worker, then removed here.
    removeOnFail: false,
  };
}

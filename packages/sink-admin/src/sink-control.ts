import type { SinkConfig } from "@berth/config";
import { type SinkStatus, getOrderingStatus, getSinkStatus, pauseSink, resumeSink, sinkQueueName } from "@berth/queue";
import type { SinkAdminContext } from "./context.js";

export type { SinkStatus };

/** Stops every worker from taking this sink's jobs until an operator resumes it. */
export function pauseSinkByOperator(ctx: SinkAdminContext, sink: SinkConfig, detail?: string): Promise<void> {
  return pauseSink(ctx.connection, ctx.prefix, sink, "operator", detail ?? "paused by operator");
}

/** Resumes the sink whatever paused it (operator, 410 Gone, breaker) and resets its breaker. */
export function resumeSinkByOperator(ctx: SinkAdminContext, sink: SinkConfig): Promise<void> {
  return resumeSink(ctx.connection, ctx.prefix, sink);
}

/**
 * Depth, dead-letter depth, pause and breaker state of each sink, in the order given; for an
 * ordered sink also the repositories it holds back behind an undelivered event.
 */
export function sinkStatuses(ctx: SinkAdminContext, sinks: readonly SinkConfig[]): Promise<SinkStatus[]> {
  return Promise.all(
    sinks.map(async (sink) => {
      const status = await getSinkStatus(ctx.connection, ctx.prefix, sink);
      if (sink.ordering === "repository") {
        status.ordering = await getOrderingStatus(ctx.connection, ctx.prefix, sinkQueueName(sink));
      }
      return status;
    }),
  );
}

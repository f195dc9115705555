/**
 * `berth events replay`: delivers events from the retained log again to one sink, with their
 * original ids and sequences (consumers deduplicate on `id`). Only events the sink's own filters
 * take are replayed. For an ordered sink each event first joins its repository's pending set,
 * then its job is added, so the ordered gate delivers the replayed events of a repository in
 * sequence order (before any later event still pending); a replayed event older than what the
 * sink already has arrives with `outoforder: true`.
 *
 * A job still queued for that event and sink (same job id) is left as it is: counted in
 * `alreadyQueued`, delivered once.
 *
 * Each event goes out in the form the sink takes (`payload`, `maxManifestBytes`); a manifest the
 * log left out is put back from `manifests` (the registry's storage) for a sink that takes it,
 * and an event whose manifest storage does not have goes out as logged, marked
 * `manifestomitted` (counted in `manifestsMissing`).
 */
import type { SinkConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import { createSinkFilter } from "@berth/outbox";
import { DELIVERY_JOB_NAME, deliveryJobId, deliveryJobOptions, orderPendingKey, sinkQueueName } from "@berth/queue";
import { type SinkAdminContext, openSinkQueues } from "./context.js";
import { type EventLogQuery, queryEventLog } from "./event-log-query.js";
import { type ManifestSource, shapeLoggedEvent } from "./manifest-restore.js";

export interface EventReplayResult {
  /** Events matching the query and the sink's filters. */
  matched: number;
  replayed: number;
  alreadyQueued: number;
  /** Replayed without the manifest the sink takes: the log left it out and storage did not have it. */
  manifestsMissing: number;
}

const BATCH = 200;

export async function replayLoggedEvents(
  ctx: SinkAdminContext & { sink: SinkConfig; query: EventLogQuery; manifests?: ManifestSource },
): Promise<EventReplayResult> {
  const { sink, connection, prefix } = ctx;
  const accepts = createSinkFilter(sink);
  const queues = openSinkQueues(ctx, sink);
  const result: EventReplayResult = { matched: 0, replayed: 0, alreadyQueued: 0, manifestsMissing: 0 };
  const flush = async (events: BerthEvent[]) => {
    if (events.length === 0) return;
    const ids = events.map((e) => deliveryJobId(e.id, sink.name));
    const exists = await Promise.all(ids.map((id) => queues.sink.getJobState(id)));
    const fresh: BerthEvent[] = [];
    for (const [i, logged] of events.entries()) {
      if (exists[i] !== "unknown") continue;
      const shaped = await shapeLoggedEvent(logged, sink, ctx.manifests);
      if (shaped.missing) result.manifestsMissing++;
      fresh.push(shaped.event);
    }
    if (sink.ordering === "repository") {
      const pipeline = connection.pipeline();
      for (const e of fresh) {
        if (e.sequence === undefined) continue;
        pipeline.zadd(orderPendingKey(prefix, sinkQueueName(sink), e.data.name), Number(e.sequence), deliveryJobId(e.id, sink.name));
      }
      await pipeline.exec();
    }
    await queues.sink.addBulk(
      fresh.map((event) => ({ name: DELIVERY_JOB_NAME, data: { event, sink: sink.name }, opts: deliveryJobOptions(sink, event.id) })),
    );
    result.replayed += fresh.length;
    result.alreadyQueued += events.length - fresh.length;
  };
  try {
    let batch: BerthEvent[] = [];
    for await (const { event } of queryEventLog(ctx, ctx.query)) {
      if (!accepts(event)) continue;
      result.matched++;
      batch.push(event);
      if (batch.length >= BATCH) {
        await flush(batch);
        batch = [];
      }
    }
    await flush(batch);
    return result;
  } finally {
    await queues.close();
  }
}

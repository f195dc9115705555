/**
 * `berth events replay`: delivers events from the retained log again to one sink, with their
 * original ids and sequences (consumers deduplicate on `id`). Only events the sink's own filters
 * take are replayed. For an ordered sink each event first joins its repository's pending set,
 * then its job is added, so the ordered gate delivers the replayed events of a repository in
 * sequence order (before any later event still pending); a replayed event older than what the
 * sink already has arrives with `outoforder: true`.
 *
 * On an ordered sink, the gate drops a pending-set member whose job does not exist (a job that
 * completed, or an add that died half-way), so a member must never be visible before its job: a
 * release running between the two would drop it, and the replayed event would then go out at once,
 * around the order, marked `outoforder`. So the jobs are added delayed first, then joined to their
 * repositories' pending sets, then each repository's lowest replayed job is promoted; the gate
 * promotes the next one as each is released. If the replay dies between the steps, the staged jobs
 * still go out when their delay ends (as events outside the order).
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
import { DELIVERY_JOB_NAME, type DeliveryJobData, type RedisConnection, deliveryJobId, deliveryJobOptions, orderPendingKey, sinkQueueName } from "@berth/queue";
import { PARK_MS, promoteDelayedJob } from "@berth/delivery";
import type { Queue } from "bullmq";
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

function deliveryJob(sink: SinkConfig, event: BerthEvent, delay?: number) {
  const opts = deliveryJobOptions(sink, event.id);
  return { name: DELIVERY_JOB_NAME, data: { event, sink: sink.name }, opts: delay === undefined ? opts : { ...opts, delay } };
}

/** Job first (delayed), pending-set member second, then a promote per repository: see above. */
async function stageOrdered(queue: Queue<DeliveryJobData>, connection: RedisConnection, prefix: string, sink: SinkConfig, events: BerthEvent[]) {
  // Delayed as a held-back job is parked: what is not promoted sooner checks its turn then.
  await queue.addBulk(events.map((event) => deliveryJob(sink, event, PARK_MS)));
  const pipeline = connection.pipeline();
  const lowest = new Map<string, BerthEvent>();
  for (const e of events) {
    if (e.sequence === undefined) continue;
    pipeline.zadd(orderPendingKey(prefix, sinkQueueName(sink), e.data.name), Number(e.sequence), deliveryJobId(e.id, sink.name));
    const low = lowest.get(e.data.name);
    if (low === undefined || Number(e.sequence) < Number(low.sequence)) lowest.set(e.data.name, e);
  }
  await pipeline.exec();
  // An event without a sequence (logged before sequences existed) is outside the order: it goes now.
  const heads = [...lowest.values(), ...events.filter((e) => e.sequence === undefined)];
  await Promise.all(heads.map((e) => promoteDelayedJob(queue, deliveryJobId(e.id, sink.name))));
}

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
    // Together: each manifest the log left out is a read from storage.
    const shaped = await Promise.all(events.filter((_, i) => exists[i] === "unknown").map((logged) => shapeLoggedEvent(logged, sink, ctx.manifests)));
    result.manifestsMissing += shaped.filter((s) => s.missing).length;
    const fresh = shaped.map((s) => s.event);
    if (sink.ordering === "repository") await stageOrdered(queues.sink, connection, prefix, sink, fresh);
    else await queues.sink.addBulk(fresh.map((event) => deliveryJob(sink, event)));
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

import type { SinkConfig } from "@berth/config";
import type { DeadLetterJobData, DeliveryJobData } from "@berth/queue";
import { type SinkAdminContext, type SinkQueues, openSinkQueues } from "@berth/sink-admin";
import type { BaseAdapter } from "@bull-board/api/dist/queueAdapters/base.js";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { DeadLetterQueueAdapter } from "./dead-letter-adapter.js";

export interface SinkBoards {
  adapters: BaseAdapter[];
  /** Both queues per sink name, for the replay routes. */
  queues: Map<string, { sink: SinkConfig; queues: SinkQueues }>;
  /**
   * Hot reload: boards for sinks not shown yet (returned), the new settings for those shown.
   * A sink removed from the config keeps its boards: its queued events stay visible.
   */
  add(sinks: readonly SinkConfig[]): { names: string[]; adapters: BaseAdapter[] };
  close(): Promise<void>;
}

/**
 * `image.updated library/alpine:3.20 #42` — what the operator looks for in a job list; the
 * repository's sequence number, when the event has one, shows why an ordered sink holds a job.
 */
function jobTitle(job: { data?: Partial<DeliveryJobData>; name?: string }): string {
  const event = job.data?.event;
  if (!event?.type || !event.data) return job.name ?? "";
  const ref = event.data.reference ?? event.data.digest;
  const sequence = event.sequence === undefined ? "" : ` #${Number(event.sequence)}`;
  return `${event.type} ${event.data.name}${ref ? `:${ref}` : ""}${sequence}`;
}

function liveDescription(sink: SinkConfig): string {
  const base = `Deliveries to ${sink.type} sink "${sink.name}": waiting, retrying (delayed), in flight.`;
  if (sink.ordering !== "repository") return base;
  return (
    `${base} Ordered by repository: a job whose repository has an earlier undelivered event waits in delayed ` +
    `until that one is delivered (held repositories: GET /sinks/${sink.name}/ordering). A dead letter does not ` +
    "hold its repository; replayed, it arrives marked outoforder."
  );
}

/**
 * Two boards per configured sink: its delivery queue (`sink.http.audit`: retries in flight) and
 * its dead-letter queue (`sink.http.audit.dead`: Retry = replay with the original event id).
 */
export function buildSinkBoards(ctx: SinkAdminContext, sinks: readonly SinkConfig[], readOnly: boolean): SinkBoards {
  const adapters: BaseAdapter[] = [];
  const queues = new Map<string, { sink: SinkConfig; queues: SinkQueues }>();
  const add = (list: readonly SinkConfig[]) => {
    const added = { names: [] as string[], adapters: [] as BaseAdapter[] };
    for (const sink of list) {
      const known = queues.get(sink.name);
      if (known) {
        known.sink = sink;
        continue;
      }
      const q = openSinkQueues(ctx, sink);
      queues.set(sink.name, { sink, queues: q });
      added.names.push(sink.name);
      added.adapters.push(...sinkAdapters(q, sink, readOnly));
    }
    adapters.push(...added.adapters);
    return added;
  };
  add(sinks);
  return {
    adapters,
    queues,
    add,
    async close() {
      await Promise.all([...queues.values()].map((e) => e.queues.close()));
    },
  };
}

function sinkAdapters(q: SinkQueues, sink: SinkConfig, readOnly: boolean): BaseAdapter[] {
  const common = { readOnlyMode: readOnly, allowRetries: !readOnly, prefix: "" };
  const live = new BullMQAdapter(q.sink, {
    ...common,
    displayName: `${sink.type} sink "${sink.name}"`,
    description: liveDescription(sink),
  });
  const dead = new DeadLetterQueueAdapter(q, sink, {
    ...common,
    displayName: `${sink.type} sink "${sink.name}" — dead letters`,
    description: `Events ${sink.type} sink "${sink.name}" gave up on. Retry moves the event back to the sink queue with its original id.`,
  });
  live.setFormatter("name", (job: { data?: Partial<DeliveryJobData> }) => jobTitle(job));
  dead.setFormatter("name", (job: { data?: Partial<DeadLetterJobData> }) => jobTitle(job));
  return [live, dead];
}

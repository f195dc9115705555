/**
 * BullMQ's supported bulk paths as the outbox's add step, for `pnpm bench --only outbox` only
 * (issue 15 asked whether one of them could replace add-jobs-script.ts): `Queue.addBulk` (one call
 * per queue, the queues of a group in parallel) and `FlowProducer.addBulk` (every queue in one
 * MULTI). Not a user setting: the registry takes it from an internal variable the bench sets.
 *
 * Neither path can read a value from Redis in the same atomic step, so the sequence numbers and
 * the event log are a separate round trip first, by a small script over Berth's own keys only
 * (sequence hash, "sequenced" markers, event log): the cost the switch would really have. Not
 * implemented here, because the bench needs neither: ordered sinks (pending sets) and skipping an
 * event whose every job still exists; an ordered sink on these paths is refused.
 */
import type { EventLogSettings } from "@berth/config";
import { type BerthEvent, formatSequence } from "@berth/events";
import { type DeliveryJobData, type RedisConnection, eventLogKey, sequenceKey, sequencedKey } from "@berth/queue";
import { FlowProducer, type JobsOptions, type Queue } from "bullmq";
import type { RoutedEvents } from "./enqueue.js";
import { logForm } from "./log-form.js";

export const ADD_PATHS = ["script", "queue-add-bulk", "flow-add-bulk"] as const;
export type AddPath = (typeof ADD_PATHS)[number];

/** KEYS: [1] sequence hash, [2] event log, then per event its marker. ARGV: [1] log max, [2] log min id, [3] marker TTL, per event: repository, log form head. */
const SEQUENCE_LUA = `
local rcall = redis.call
local logMax = tonumber(ARGV[1])
local out = {}
for e = 1, #KEYS - 2 do
  local marker = KEYS[e + 2]
  if rcall("EXISTS", marker) == 1 then
    out[e] = 0
  else
    local seq = rcall("HINCRBY", KEYS[1], ARGV[2 + 2 * e], 1)
    rcall("SET", marker, seq, "EX", ARGV[3])
    if logMax > 0 then
      rcall("XADD", KEYS[2], "MAXLEN", "~", logMax, "*", "event", ARGV[3 + 2 * e] .. ',"sequence":"' .. string.format("%020d", seq) .. '"}')
    end
    out[e] = seq
  end
end
if logMax > 0 and #KEYS > 2 then rcall("XTRIM", KEYS[2], "MINID", ARGV[2]) end
return out
`;
const COMMAND = "berthSequenceEvents";
type WithSequence = RedisConnection & { [COMMAND](...args: (string | number)[]): Promise<number[]> };

interface BulkJob {
  queueName: string;
  name: string;
  data: DeliveryJobData;
  opts: JobsOptions;
}

export interface BulkAdder {
  /** Adds the group's jobs; the key of one job written (for replica WAIT), undefined when none. */
  add(publishes: readonly RoutedEvents[]): Promise<string | undefined>;
  close(): Promise<void>;
}

export function createBulkAdder(
  path: Exclude<AddPath, "script">,
  o: { connection: RedisConnection; prefix: string; log: EventLogSettings; ttlSeconds: number; queue(name: string): Queue },
): BulkAdder {
  const { connection, prefix, log } = o;
  if (!(COMMAND in connection)) connection.defineCommand(COMMAND, { lua: SEQUENCE_LUA });
  const redis = connection as WithSequence;
  const flow = path === "flow-add-bulk" ? new FlowProducer({ connection, prefix }) : undefined;
  flow?.on("error", () => {});

  return {
    async add(publishes) {
      // Each routed event once (publish order), with the forms its jobs hold.
      const listed = new Map<string, { event: BerthEvent; forms: BerthEvent[] }>();
      for (const { events, batches } of publishes) {
        for (const event of events) if (!listed.has(event.id)) listed.set(event.id, { event, forms: [] });
        for (const batch of batches) {
          if (batch.ordered) throw new Error(`outbox: the ${path} add path (bench only) does not support ordered sinks`);
          for (const job of batch.jobs) listed.get(job.data.event.id)!.forms.push(job.data.event);
        }
      }
      const routed = [...listed.values()].filter((l) => l.forms.length > 0);
      if (routed.length === 0) return undefined;
      const keys = [sequenceKey(prefix), eventLogKey(prefix), ...routed.map((l) => sequencedKey(prefix, l.event.id))];
      const argv: (string | number)[] = [log.maxEvents, Math.max(0, Date.now() - log.maxAgeMs), o.ttlSeconds];
      for (const { event, forms } of routed) {
        const form = logForm(event, forms, log.maxManifestBytes) ?? event;
        argv.push(event.data.name, JSON.stringify({ ...form, sequence: undefined }).slice(0, -1));
      }
      const sequences = await redis[COMMAND](keys.length, ...keys, ...argv);
      const sequenceOf = new Map(routed.map((l, i) => [l.event.id, sequences[i]!]));

      const jobs: BulkJob[] = [];
      for (const { batches } of publishes) {
        for (const batch of batches) {
          for (const job of batch.jobs) {
            const sequence = sequenceOf.get(job.data.event.id);
            if (!sequence) continue; // already sequenced: a relay re-add, skipped whole
            const event = { ...job.data.event, sequence: formatSequence(sequence) };
            jobs.push({ queueName: batch.queueName, name: job.name, data: { ...job.data, event }, opts: job.opts });
          }
        }
      }
      if (jobs.length === 0) return undefined;
      if (flow) {
        await flow.addBulk(jobs.map((j) => ({ ...j, prefix })));
      } else {
        const byQueue = new Map<string, BulkJob[]>();
        for (const j of jobs) {
          const list = byQueue.get(j.queueName);
          if (list) list.push(j);
          else byQueue.set(j.queueName, [j]);
        }
        await Promise.all([...byQueue].map(([name, list]) => o.queue(name).addBulk(list.map(({ name: n, data, opts }) => ({ name: n, data, opts })))));
      }
      return `${prefix}:${jobs[0]!.queueName}:${jobs[0]!.opts.jobId}`;
    },
    async close() {
      await flow?.close();
    },
  };
}

import type { DurabilitySettings, EventLogSettings } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import { type RedisConnection, eventLogKey, orderPendingKey, sequenceKey, sequencedKey, waitForReplicas } from "@berth/queue";
import { Queue } from "bullmq";
import { type ScriptEvent, type ScriptJob, addJobs, withAddJobs } from "./add-jobs-script.js";
import { type AddPath, type BulkAdder, createBulkAdder } from "./bulk-add-paths.js";
import { createGroupCommit } from "./group-commit.js";
import { logForm } from "./log-form.js";
import type { QueueBatch } from "./job-router.js";

export class EnqueueTimeoutError extends Error {
  override readonly name = "EnqueueTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`enqueue did not complete within ${timeoutMs} ms`);
  }
}

/** The master took the jobs but fewer replicas than required confirmed them in time. */
export class ReplicasNotConfirmedError extends Error {
  override readonly name = "ReplicasNotConfirmedError";
  constructor(
    readonly confirmed: number,
    readonly required: number,
  ) {
    super(`${confirmed} of ${required} required Redis replicas confirmed the enqueue in time`);
  }
}

/** One publish's events, in publish order, and the jobs routed from them. */
export interface RoutedEvents {
  events: readonly BerthEvent[];
  batches: readonly QueueBatch[];
}

export interface Enqueuer {
  /**
   * Adds every job of every batch as a standard BullMQ job (add-jobs-script.ts), in one script
   * call for all queues and for the publishes gathered while the previous call was in flight
   * (group-commit.ts); each routed event takes its repository's next sequence number in the same
   * call, in publish order. With `durability.minReplicas`, resolves only once that many replicas
   * confirmed the call (Redis WAIT). Rejects on any failure, a shortfall of replicas or after
   * `timeoutMs` (the adds may still land, or have landed: job ids make a re-add a no-op while
   * the job exists).
   */
  enqueue(routed: RoutedEvents, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The event's JSON without a `sequence` member (the script writes it), minus the closing brace. */
function jsonHead(event: BerthEvent): string {
  const json = JSON.stringify(event.sequence === undefined ? event : { ...event, sequence: undefined });
  return json.slice(0, -1);
}

/** One published event of a script call: where it is listed and the forms its jobs hold. */
interface Listed {
  event: BerthEvent;
  at: number;
  forms: BerthEvent[];
  /** The form the script gets as the event's own: the one every job holds when they all hold the same. */
  head?: BerthEvent;
}

/**
 * The publishes as script events and jobs. Events are listed in publish order (only those some
 * sink takes); each form of an event is serialized once however many sinks take it, and the form
 * listed as the event's own is the one every job holds when they all hold the same (thin sinks: a
 * large manifest is neither serialized nor sent for nothing). The job's data is
 * `{"event":…,"sink":…}`, byte for byte what JSON.stringify(job.data) gives once the event has
 * its sequence. The options are `deliveryJobOptions` (no delay, priority, parent, dedup or
 * repeat, which the script does not implement); add-jobs-script.test.ts routes through them, so
 * adding such an option fails there rather than being checked here on every job.
 */
function scriptCall(prefix: string, publishes: readonly RoutedEvents[], timestamp: number, logCap: number) {
  // By id, across the group: a sink's job may hold the event in its own form (payload), a copy.
  const listed = new Map<string, Listed>();
  const events: ScriptEvent[] = [];
  const jobs: ScriptJob[] = [];
  const heads = new Map<BerthEvent, string>();
  const head = (form: BerthEvent): string => {
    const known = heads.get(form);
    if (known !== undefined) return known;
    const json = jsonHead(form);
    heads.set(form, json);
    return json;
  };
  for (const { events: published, batches } of publishes) {
    // Publish order first (a push's repository.created before its image.updated), then the jobs.
    for (const event of published) {
      if (!listed.has(event.id)) listed.set(event.id, { event, at: -1, forms: [] });
    }
    for (const batch of batches) {
      for (const job of batch.jobs) {
        const entry = listed.get(job.data.event.id);
        if (!entry) throw new Error("outbox: a routed job's event is not among the published events");
        entry.forms.push(job.data.event);
      }
    }
    for (const event of published) {
      const entry = listed.get(event.id)!;
      if (entry.forms.length === 0 || entry.at >= 0) continue;
      entry.at = events.length;
      const kept = logForm(event, entry.forms, logCap) ?? event;
      const first = entry.forms[0]!;
      entry.head = entry.forms.every((f) => f === first) ? first : event;
      events.push({
        sequencedKey: sequencedKey(prefix, event.id),
        repository: event.data.name,
        jsonHead: head(entry.head),
        ...(kept === entry.head ? {} : { logHead: head(kept) }),
      });
    }
    for (const batch of batches) {
      const queueKey = `${prefix}:${batch.queueName}:`;
      const sink = JSON.stringify(batch.sink);
      for (const job of batch.jobs) {
        const { event } = job.data;
        const id = job.opts.jobId;
        if (!id) throw new Error("outbox: a delivery job needs its jobId");
        const entry = listed.get(event.id)!;
        const scriptJob: ScriptJob = { queueKey, event: entry.at, id, name: job.name, sink, opts: JSON.stringify(job.opts), timestamp };
        if (event !== entry.head) scriptJob.form = head(event);
        if (batch.ordered) scriptJob.pendingKey = orderPendingKey(prefix, batch.queueName, event.data.name);
        jobs.push(scriptJob);
      }
    }
  }
  return { events, jobs };
}

/**
 * How long the script remembers that an event took its sequence: far longer than a relay takes to
 * re-add what a timed-out call had already added (it runs as soon as that same Redis answers).
 */
const SEQUENCED_TTL_SECONDS = 86_400;

/** No event log: the default, for tests and tools that do not need one. */
const NO_EVENT_LOG: EventLogSettings = { maxAgeMs: 0, maxEvents: 0, maxManifestBytes: 0 };

const NO_REPLICAS: DurabilitySettings = { minReplicas: 0, timeoutMs: 0 };

export function createEnqueuer(
  connection: RedisConnection,
  prefix: string,
  log: EventLogSettings = NO_EVENT_LOG,
  durability: DurabilitySettings = NO_REPLICAS,
  /** How jobs are written: the add-jobs script; the others are BullMQ's bulk paths, for the bench only. */
  addPath: AddPath = "script",
): Enqueuer {
  const redis = withAddJobs(connection);
  /** One BullMQ Queue per queue name, kept for its init: it writes the queue's meta as Queue.add's would. */
  const queues = new Map<string, { queue: Queue; ready: Promise<unknown> }>();
  /** Queues whose init is done: a group to those alone waits for nothing (the usual case). */
  const readyNames = new Set<string>();

  function queueReady(name: string): Promise<unknown> {
    const cached = queues.get(name);
    if (cached) return cached.ready;
    // The connection is shared: closing a Queue leaves it open, and BullMQ never quits it.
    const queue = new Queue(name, { connection, prefix, skipVersionCheck: true });
    queue.on("error", () => {});
    const ready = queue.waitUntilReady();
    queues.set(name, { queue, ready });
    ready.then(() => {
      if (queues.get(name)?.queue === queue) readyNames.add(name);
    }, () => {});
    // A failed init (Redis away) is retried by the next enqueue to that queue.
    ready.catch(() => {
      if (queues.get(name)?.queue === queue) queues.delete(name);
      void queue.close().catch(() => {});
    });
    return ready;
  }

  const required = durability.minReplicas;
  /**
   * Replicas confirmed the previous call and the connection has not dropped since. Otherwise
   * the next call asks WAIT before writing: a relay retry that wrote first would put the same
   * jobs on the master again each time, and a worker that delivered and removed them in between
   * would deliver them once more.
   */
  let replicasConfirmed = false;
  connection.on("close", () => {
    replicasConfirmed = false;
  });

  /**
   * Asynchronous replication: a master that dies before its replicas copied the jobs loses them
   * on failover. WAIT (on the connection that wrote them) turns that into a known case: the
   * caller journals unconfirmed jobs and the relay adds them again.
   */
  async function confirm(key: string): Promise<void> {
    const confirmed = await waitForReplicas(connection, key, required, durability.timeoutMs);
    replicasConfirmed = confirmed >= required;
    if (!replicasConfirmed) throw new ReplicasNotConfirmedError(confirmed, required);
  }

  const targets = {
    sequenceKey: sequenceKey(prefix),
    eventLogKey: eventLogKey(prefix),
    logMaxEvents: log.maxEvents,
    sequencedTtlSeconds: SEQUENCED_TTL_SECONDS,
  };
  const bulk: BulkAdder | undefined =
    addPath === "script"
      ? undefined
      : createBulkAdder(addPath, { connection, prefix, log, ttlSeconds: SEQUENCED_TTL_SECONDS, queue: (name) => queues.get(name)!.queue });

  /**
   * Settles once the previous write's script call has been handed to the connection. With two
   * writes in flight, one that had to wait (a queue's first init, a WAIT) must still reach Redis
   * before the one started after it: the script numbers events in the order it runs them.
   */
  let previousSent: Promise<void> = Promise.resolve();
  const write = async (publishes: readonly RoutedEvents[]): Promise<void> => {
    const turn = previousSent;
    let sent = () => {};
    previousSent = new Promise<void>((resolve) => {
      sent = resolve;
    });
    let call: Promise<unknown> | undefined;
    let key = "";
    try {
      const inits: Promise<unknown>[] = [];
      for (const p of publishes) for (const b of p.batches) if (!readyNames.has(b.queueName)) inits.push(queueReady(b.queueName));
      if (inits.length > 0) await Promise.all(inits);
      await turn;
      if (bulk) {
        const written = await bulk.add(publishes);
        if (written && required > 0) await confirm(written);
        return;
      }
      const now = Date.now();
      const { events, jobs } = scriptCall(prefix, publishes, now, log.maxManifestBytes);
      if (jobs.length === 0) return;
      key = `${jobs[0]!.queueKey}${jobs[0]!.id}`;
      if (required > 0 && !replicasConfirmed) await confirm(key);
      // ioredis writes the command (or queues it offline) synchronously, in call order.
      call = addJobs(redis, { ...targets, logMinId: Math.max(0, now - log.maxAgeMs) }, events, jobs);
    } finally {
      sent();
    }
    try {
      await call;
    } catch (err) {
      replicasConfirmed = false;
      throw err;
    }
    if (required > 0) await confirm(key);
  };
  // Replica confirmation and the bench's bulk paths write one call at a time, as before.
  const commit = createGroupCommit<RoutedEvents>(write, required > 0 || bulk ? 1 : 2);

  return {
    async enqueue(routed, timeoutMs) {
      const adds = commit.submit([routed]);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new EnqueueTimeoutError(timeoutMs)), timeoutMs);
      });
      // A late failure of an abandoned add must not become an unhandled rejection.
      adds.catch(() => {});
      try {
        await Promise.race([adds, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await bulk?.close();
      const all = [...queues.values()];
      queues.clear();
      readyNames.clear();
      await Promise.allSettled(all.map((q) => q.queue.close()));
    },
  };
}

/**
 * Operational state of a sink, shared by every worker process, the dashboard and the CLI.
 *
 * Redis layout (P = the BullMQ prefix, Q = `sinkQueueName(sink)`, e.g. `sink.http.audit`):
 *
 *   P:Q:meta                         BullMQ's own queue meta hash; field `paused` = 1 while paused.
 *                                    Set by `Queue.pause()`, which stops every worker of the queue.
 *   P:berth:sink-state:Q             hash, why the sink is paused and the breaker's state:
 *       pauseReason                  operator | gone | breaker (absent when running)
 *       pauseDetail                  free text for humans (e.g. "HTTP 410 from receiver")
 *       pausedAt                     epoch ms
 *       breakerOpenedAt              epoch ms (absent when the breaker is closed)
 *       breakerOpenUntil             epoch ms; after it the breaker is half-open
 *   P:berth:sink-failures:Q          integer, consecutive failed attempts across all processes
 *   P:berth:sink-state-lock:Q        short-lived lock (token, 5 s expiry) held by whoever changes
 *                                    the pause state: the reason and BullMQ's flag change together
 *
 * The queue name never contains `:` and is never `berth`, so these keys cannot collide with
 * BullMQ's `P:Q:*` keys.
 */
import type { OrderingStatus } from "./ordering-status.js";
import type { SinkConfig, SinkType } from "@berth/config";
import { Queue } from "bullmq";
import type { RedisConnection } from "./connections.js";
import { deadLetterQueueName, sinkQueueName } from "./catalog.js";
import { underRedisLock } from "./redis-lock.js";

export type SinkRef = Pick<SinkConfig, "type" | "name">;

export const PAUSE_REASONS = ["operator", "gone", "breaker"] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

/** closed: deliveries flow; open: queue held for the cool-down; half-open: probing after it. */
export type BreakerState = "closed" | "open" | "half-open";

export interface SinkStatus {
  sink: string;
  type: SinkType;
  queue: string;
  deadLetterQueue: string;
  /** Jobs ready to run (waiting + prioritized). */
  waiting: number;
  active: number;
  /** Jobs waiting for their retry backoff. */
  delayed: number;
  /** Jobs in the failed set that are not dead-lettered yet (normally 0). */
  failed: number;
  deadLetters: number;
  paused: boolean;
  pauseReason?: PauseReason;
  pauseDetail?: string;
  pausedAt?: number;
  breaker: BreakerState;
  breakerOpenUntil?: number;
  consecutiveFailures: number;
  /** Ordered sinks only (`ordering: repository`): what the ordering holds back. */
  ordering?: OrderingStatus;
}

export function sinkStateKey(prefix: string, sink: SinkRef): string {
  return `${prefix}:berth:sink-state:${sinkQueueName(sink)}`;
}

export function sinkFailuresKey(prefix: string, sink: SinkRef): string {
  return `${prefix}:berth:sink-failures:${sinkQueueName(sink)}`;
}

/** Runs `fn` with a short-lived Queue handle on the caller's connection (left open). */
async function withQueue<T>(conn: RedisConnection, prefix: string, name: string, fn: (q: Queue) => Promise<T>): Promise<T> {
  const queue = new Queue(name, { connection: conn, prefix });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

function isPauseReason(value: string | undefined): value is PauseReason {
  return (PAUSE_REASONS as readonly string[]).includes(value ?? "");
}

/**
 * A pause is two writes: the reason in Berth's hash and BullMQ's flag (its pause script). Every
 * change of the pair runs under this per-sink lock, or two processes interleave: a half-open
 * resuming the queue and dropping the reason around another's open (reason written, queue
 * paused after the resume) leaves the queue paused with no reason, which nothing ever resumes.
 * The chaos test hit exactly that. The lock expires so a process killed holding it blocks nobody
 * for long; a crash inside leaves a state the breaker's next check repairs (see halfOpenBreaker).
 */
const LOCK_TTL_MS = 5_000;
const LOCK_WAIT_MS = 10_000;

export class SinkStateBusyError extends Error {
  override readonly name = "SinkStateBusyError";
  constructor(sink: SinkRef) {
    super(`the state of sink ${sink.name} is being changed by another process; try again`);
  }
}

function sinkLockKey(prefix: string, sink: SinkRef): string {
  return `${prefix}:berth:sink-state-lock:${sinkQueueName(sink)}`;
}

/** Runs `fn` holding the sink's lock; waits up to `waitMs` for it, else returns `busy`. */
function underSinkLock<T, B>(conn: RedisConnection, prefix: string, sink: SinkRef, waitMs: number, busy: () => B, fn: () => Promise<T>): Promise<T | B> {
  return underRedisLock(conn, sinkLockKey(prefix, sink), { ttlMs: LOCK_TTL_MS, waitMs }, busy, fn);
}

/** As underSinkLock, but a lock held for too long is an error: these changes must happen. */
function withSinkLock<T>(conn: RedisConnection, prefix: string, sink: SinkRef, fn: () => Promise<T>): Promise<T> {
  return underSinkLock(conn, prefix, sink, LOCK_WAIT_MS, () => {
    throw new SinkStateBusyError(sink);
  }, fn);
}

async function pauseLocked(conn: RedisConnection, prefix: string, sink: SinkRef, reason: PauseReason, detail?: string): Promise<void> {
  const key = sinkStateKey(prefix, sink);
  const current = await conn.hget(key, "pauseReason");
  const keepCurrent = reason === "breaker" && (current === "operator" || current === "gone");
  if (!keepCurrent) {
    await conn.hset(key, { pauseReason: reason, pauseDetail: detail ?? "", pausedAt: String(Date.now()) });
  }
  await withQueue(conn, prefix, sinkQueueName(sink), (q) => q.pause());
}

/**
 * Pauses the sink's queue for every worker. An operator's or a `gone` pause is stronger than a
 * breaker's: the breaker never overwrites it, so its cool-down cannot resume a sink a human (or a
 * 410) stopped.
 */
export function pauseSink(conn: RedisConnection, prefix: string, sink: SinkRef, reason: PauseReason, detail?: string): Promise<void> {
  return withSinkLock(conn, prefix, sink, () => pauseLocked(conn, prefix, sink, reason, detail));
}

/** Operator resume: runs the queue again and resets the breaker and the failure count. */
export function resumeSink(conn: RedisConnection, prefix: string, sink: SinkRef): Promise<void> {
  return withSinkLock(conn, prefix, sink, async () => {
    await withQueue(conn, prefix, sinkQueueName(sink), (q) => q.resume());
    await conn.del(sinkStateKey(prefix, sink), sinkFailuresKey(prefix, sink));
  });
}

/** Opens the breaker: holds the queue (reason `breaker`) until `cooldownMs` from now. */
export function openBreaker(conn: RedisConnection, prefix: string, sink: SinkRef, cooldownMs: number, detail?: string): Promise<void> {
  return withSinkLock(conn, prefix, sink, async () => {
    const now = Date.now();
    // Cool-down first, pause second: a crash in between leaves an unpaused "open" breaker that the
    // next success closes; the other order could leave a breaker pause with no cool-down to end it.
    // Readers may briefly see open-but-not-yet-paused.
    await conn.hset(sinkStateKey(prefix, sink), {
      breakerOpenedAt: String(now),
      breakerOpenUntil: String(now + cooldownMs),
    });
    await pauseLocked(conn, prefix, sink, "breaker", detail);
  });
}

export async function breakerOpenUntil(conn: RedisConnection, prefix: string, sink: SinkRef): Promise<number | undefined> {
  const raw = await conn.hget(sinkStateKey(prefix, sink), "breakerOpenUntil");
  return raw ? Number(raw) : undefined;
}

export function breakerStateAt(openUntil: number | undefined, now: number): BreakerState {
  if (openUntil === undefined) return "closed";
  return openUntil > now ? "open" : "half-open";
}

export async function breakerState(conn: RedisConnection, prefix: string, sink: SinkRef, now = Date.now()): Promise<BreakerState> {
  return breakerStateAt(await breakerOpenUntil(conn, prefix, sink), now);
}

/**
 * After the cool-down (or once a success closed the breaker): resumes the queue so the next job
 * probes the destination, but only if the breaker is what holds it. Checked under the sink's lock,
 * and skipped (false) while another process holds it: the breaker's next check comes soon.
 * Returns whether it resumed.
 */
export async function halfOpenBreaker(conn: RedisConnection, prefix: string, sink: SinkRef, now = Date.now()): Promise<boolean> {
  const key = sinkStateKey(prefix, sink);
  // Every worker checks every second or so: the common "not paused by the breaker" costs one read.
  if ((await conn.hget(key, "pauseReason")) !== "breaker") return false;
  return underSinkLock(conn, prefix, sink, 0, () => false, async () => {
    const [reason, until] = await conn.hmget(key, "pauseReason", "breakerOpenUntil");
    if (reason !== "breaker") return false;
    if (until && Number(until) > now) return false;
    await withQueue(conn, prefix, sinkQueueName(sink), (q) => q.resume());
    await conn.hdel(key, "pauseReason", "pauseDetail", "pausedAt");
    return true;
  });
}

export interface ClosedBreaker {
  /** The consecutive-failure count this call cleared (0 for all but one of concurrent closes). */
  failures: number;
  /** A cool-down was recorded: the breaker was open or half-open until this call. */
  wasOpen: boolean;
}

/**
 * A delivery succeeded: the breaker closes and the consecutive-failure count restarts. The count
 * it cleared is read and deleted in one transaction, so when several processes see successes at
 * once exactly one of them learns that a failure streak ended (and promotes the held retries).
 */
export async function closeBreaker(conn: RedisConnection, prefix: string, sink: SinkRef): Promise<ClosedBreaker> {
  const key = sinkStateKey(prefix, sink);
  // One round trip: the read of the cool-down rides in the same transaction as the close.
  const results = await conn
    .multi()
    .hget(key, "breakerOpenUntil")
    .hdel(key, "breakerOpenedAt", "breakerOpenUntil")
    .getdel(sinkFailuresKey(prefix, sink))
    .exec();
  for (const [err] of results ?? []) if (err) throw err;
  return { failures: Number(results?.[2]?.[1] ?? 0), wasOpen: results?.[0]?.[1] != null };
}

/** Counts one failed attempt; returns the consecutive failures so far (all processes). */
export async function recordSinkFailure(conn: RedisConnection, prefix: string, sink: SinkRef): Promise<number> {
  return conn.incr(sinkFailuresKey(prefix, sink));
}

/** The consecutive failures so far (all processes); 0 while the sink delivers. */
export async function sinkFailureCount(conn: RedisConnection, prefix: string, sink: SinkRef): Promise<number> {
  return Number((await conn.get(sinkFailuresKey(prefix, sink))) ?? 0);
}

function sinkProbeKey(prefix: string, sink: SinkRef): string {
  return `${prefix}:berth:sink-probe:${sinkQueueName(sink)}`;
}

/**
 * Claims the sink's recovery probe for `ttlMs`: true for one caller across every process, so a
 * failing sink is probed once per interval whatever the number of workers.
 */
export async function claimSinkProbe(conn: RedisConnection, prefix: string, sink: SinkRef, ttlMs: number): Promise<boolean> {
  return (await conn.set(sinkProbeKey(prefix, sink), String(process.pid), "PX", Math.max(1, Math.round(ttlMs)), "NX")) === "OK";
}

/**
 * No process may probe the sink for `ms` (never shortens a hold already longer): the destination
 * asked for that with `Retry-After`, and a probe must not come back sooner than a retry would.
 */
export async function holdSinkProbe(conn: RedisConnection, prefix: string, sink: SinkRef, ms: number): Promise<void> {
  const key = sinkProbeKey(prefix, sink);
  const ttl = Math.max(1, Math.round(ms));
  await conn.multi().set(key, "retry-after", "PX", ttl, "NX").pexpire(key, ttl, "GT").exec();
}

export async function getSinkStatus(conn: RedisConnection, prefix: string, sink: SinkRef): Promise<SinkStatus> {
  const queue = sinkQueueName(sink);
  const deadLetterQueue = deadLetterQueueName(sink);
  const [counts, paused] = await withQueue(conn, prefix, queue, (q) =>
    Promise.all([q.getJobCounts("waiting", "prioritized", "active", "delayed", "failed"), q.isPaused()]),
  );
  const deadLetters = await withQueue(conn, prefix, deadLetterQueue, (q) =>
    q.getJobCountByTypes("waiting", "prioritized", "delayed", "failed", "completed", "active"),
  );
  const [state, failures] = await Promise.all([
    conn.hgetall(sinkStateKey(prefix, sink)),
    conn.get(sinkFailuresKey(prefix, sink)),
  ]);
  const openUntil = state["breakerOpenUntil"] ? Number(state["breakerOpenUntil"]) : undefined;
  const reason = state["pauseReason"];
  const status: SinkStatus = {
    sink: sink.name,
    type: sink.type,
    queue,
    deadLetterQueue,
    waiting: (counts["waiting"] ?? 0) + (counts["prioritized"] ?? 0),
    active: counts["active"] ?? 0,
    delayed: counts["delayed"] ?? 0,
    failed: counts["failed"] ?? 0,
    deadLetters,
    paused,
    breaker: breakerStateAt(openUntil, Date.now()),
    consecutiveFailures: Number(failures ?? 0),
  };
  if (paused && isPauseReason(reason)) {
    status.pauseReason = reason;
    if (state["pauseDetail"]) status.pauseDetail = state["pauseDetail"];
    if (state["pausedAt"]) status.pausedAt = Number(state["pausedAt"]);
  }
  if (openUntil !== undefined) status.breakerOpenUntil = openUntil;
  return status;
}

/**
 * Ordered delivery for a sink with `ordering: repository`, on BullMQ's open-source features only.
 *
 * The outbox's add-jobs script puts each new job of an ordered sink into its repository's
 * pending set (`P:berth:order:Q:<repository>`, job id scored by the event's sequence), in the same
 * call that enqueues it. The lowest member — the head — is the only job of that repository the
 * sink may receive:
 *
 *  - `admit`, when a worker takes a job: the head goes; a job behind a head that still exists
 *    (waiting, active, retrying in delayed, failed on its way to the dead letters) waits; a job
 *    that is in no pending set (enqueued before the sink was ordered, or a replayed dead letter)
 *    goes at once. Heads whose job no longer exists (completed, dead-lettered, removed by an
 *    operator, or a worker died between completing and releasing it) are dropped on the way, so
 *    no crash can block a repository.
 *  - `park`, for a job that waits: moved to BullMQ's delayed set (`moveToDelayed`, not counted
 *    as an attempt) for PARK_MS, then checked again, so a release that ran between `admit` and
 *    the move (and saw the job still active) cannot leave it asleep.
 *  - `release`, after the head completed or was dead-lettered: removed from the pending set, the
 *    sink's delivered high-water mark raised, and the new head promoted from delayed to waiting.
 *    Only a call that removed the job promotes, so a retrying head's backoff is never cut short.
 *
 * A job is released only after BullMQ recorded its completion, so a worker SIGKILLed mid-delivery
 * leaves it the head: stalled-job recovery redelivers it before anything behind it (at worst a
 * re-send of the last delivered event). A retrying event holds back only its own repository;
 * other repositories' jobs keep flowing through the same queue and workers.
 *
 * Whoever adds to a pending set outside the add-jobs script must add the job first (delayed), then
 * the member, then promote: a member whose job does not exist is taken for a finished one and
 * dropped, and its job would later go out around the order.
 *
 * Dead letters do not block: once an event is dead-lettered, the later events of its repository
 * go on (a poison event would otherwise stop the repository for this consumer until an operator
 * acted, and after a day of retries the consumer needs the newest state more than the old one).
 * The gap is visible in the sequence and in `berth sink status`; a replay of the dead letter is
 * delivered at once with `outoforder: true`, since the sink already has a later event.
 */
import type { SinkConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import { type DeliveryJobData, type RedisConnection, orderDeliveredKey, orderPendingKey, sinkQueueName } from "@berth/queue";
import { DelayedError, Job, type Queue } from "bullmq";


/** How long a held-back job sleeps before it checks again if no release woke it. */
export const PARK_MS = 15_000;

/**
 * KEYS: pending set, delivered hash. ARGV: queue key prefix, job id, repository.
 * Returns { "go" | "wait" | "free", highest sequence delivered to the sink for the repository }.
 */
const ADMIT_LUA = `
local rcall = redis.call
local pending, delivered = KEYS[1], KEYS[2]
local queueKey, jobId = ARGV[1], ARGV[2]
local high = rcall("HGET", delivered, ARGV[3]) or "0"
if not rcall("ZSCORE", pending, jobId) then return { "free", high } end
while true do
  local head = rcall("ZRANGE", pending, 0, 0)[1]
  if head == jobId then return { "go", high } end
  if rcall("EXISTS", queueKey .. head) == 1 then return { "wait", high } end
  rcall("ZREM", pending, head)
end
`;

/**
 * KEYS: pending set, delivered hash. ARGV: queue key prefix, job id, repository, sequence,
 * "1" if delivered. Returns the new head's job id when this call removed the job and the head is
 * parked (delayed), else false: a head already waiting or active needs no promote, and skipping
 * it saves a round trip per delivery while a repository's events flow.
 */
const RELEASE_LUA = `
local rcall = redis.call
local pending, delivered = KEYS[1], KEYS[2]
local queueKey, jobId, repository, sequence = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if ARGV[5] == "1" and sequence > tonumber(rcall("HGET", delivered, repository) or "0") then
  rcall("HSET", delivered, repository, sequence)
end
if rcall("ZREM", pending, jobId) == 0 then return false end
while true do
  local head = rcall("ZRANGE", pending, 0, 0)[1]
  if not head then return false end
  if rcall("EXISTS", queueKey .. head) == 1 then
    if rcall("ZSCORE", queueKey .. "delayed", head) then return head end
    return false
  end
  rcall("ZREM", pending, head)
end
`;

type GateRedis = RedisConnection & {
  berthOrderAdmit(...args: string[]): Promise<[string, string]>;
  berthOrderRelease(...args: string[]): Promise<string | null>;
};

export type Admission =
  | { verdict: "deliver"; event: BerthEvent }
  | { verdict: "wait" };

export class OrderedGate {
  private readonly redis: GateRedis;
  private readonly queueName: string;
  private readonly queueKey: string;
  private readonly delivered: string;

  constructor(
    connection: RedisConnection,
    private readonly prefix: string,
    sink: Pick<SinkConfig, "type" | "name">,
    private readonly queue: Queue<DeliveryJobData>,
  ) {
    if (!("berthOrderAdmit" in connection)) {
      connection.defineCommand("berthOrderAdmit", { numberOfKeys: 2, lua: ADMIT_LUA });
      connection.defineCommand("berthOrderRelease", { numberOfKeys: 2, lua: RELEASE_LUA });
    }
    this.redis = connection as GateRedis;
    this.queueName = sinkQueueName(sink);
    this.queueKey = `${prefix}:${this.queueName}:`;
    this.delivered = orderDeliveredKey(prefix, this.queueName);
  }

  /**
   * May this job be delivered now? A job outside the pending sets (a replayed dead letter) that is
   * older than what the sink already has is sent marked `outoforder`: it bypasses the order.
   */
  async admit(job: Job<DeliveryJobData>): Promise<Admission> {
    const { event } = job.data;
    if (event.sequence === undefined || job.id === undefined) return { verdict: "deliver", event };
    const [verdict, high] = await this.redis.berthOrderAdmit(this.pendingKey(event), this.delivered, this.queueKey, job.id, event.data.name);
    if (verdict === "wait") return { verdict };
    const late = verdict === "free" && Number(event.sequence) < Number(high);
    return { verdict: "deliver", event: late ? { ...event, outoforder: true } : event };
  }

  /**
   * Puts a job that must wait back to sleep and returns the error the processor throws so BullMQ
   * leaves it there. If it became the head meanwhile, it is promoted again at once.
   */
  async park(job: Job<DeliveryJobData>, token: string | undefined): Promise<DelayedError> {
    await job.moveToDelayed(Date.now() + PARK_MS, token);
    if ((await this.admit(job)).verdict !== "wait") await this.promote(job.id);
    return new DelayedError();
  }

  /** After the job completed (`delivered`) or was dead-lettered: wake the repository's next job. */
  async release(job: Job<DeliveryJobData>, delivered: boolean): Promise<void> {
    const { event } = job.data;
    if (event.sequence === undefined || job.id === undefined) return;
    const args = [this.queueKey, job.id, event.data.name, String(Number(event.sequence)), delivered ? "1" : "0"];
    const next = await this.redis.berthOrderRelease(this.pendingKey(event), this.delivered, ...args);
    if (next) await this.promote(next);
  }

  private pendingKey(event: BerthEvent): string {
    return orderPendingKey(this.prefix, this.queueName, event.data.name);
  }

  private async promote(id: string | undefined): Promise<void> {
    if (id !== undefined) await promoteDelayedJob(this.queue, id);
  }
}

/** Delayed → waiting; a job that is not delayed (already promoted, or taken) is left alone. */
export async function promoteDelayedJob(queue: Queue<DeliveryJobData>, id: string): Promise<void> {
  await new Job(queue, "", {} as DeliveryJobData, {}, id).promote().catch(() => {});
}

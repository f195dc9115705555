import type { RedisConnection } from "@berth/queue";

/**
 * One Redis script call that adds many standard BullMQ jobs, possibly to several queues: what
 * BullMQ 6.7's `addStandardJob` writes for a job without parent, delay, priority, deduplication
 * or repeat (our delivery jobs), command for command: id counter, max-events default, duplicate
 * check ("duplicated" event), job hash, "added" event, wait list, marker unless the queue is
 * paused or at its concurrency limit, "waiting" event.
 *
 * Why not `Queue.add`: every event becomes one job per sink, and BullMQ's general script and its
 * client-side job object cost more CPU on both sides of every add; the figures are in the
 * package README (measure-publish-cpu.ts, and the outbox case of `pnpm bench`).
 * add-jobs-script.test.ts pins this script to BullMQ's own writes (every key, field, list,
 * marker and stream entry compared with `Queue.add` for the same jobs), so a BullMQ upgrade that
 * changes the layout fails there, not in production.
 *
 * KEYS, per job (7): wait, meta, id, events, marker, active, the job's hash.
 * ARGV, per job (5): job id, name, data (JSON), opts (JSON, BullMQ's stored form), timestamp.
 * Returns the job ids, in order.
 */
const ADD_JOBS_LUA = `
local rcall = redis.call
local ids = {}
for i = 0, #ARGV / 5 - 1 do
  local k, a = i * 7, i * 5
  local waitKey, metaKey, idKey, eventsKey, markerKey, activeKey, jobKey =
    KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5], KEYS[k + 6], KEYS[k + 7]
  local jobId, name = ARGV[a + 1], ARGV[a + 2]
  rcall("INCR", idKey)
  local maxEvents = rcall("HGET", metaKey, "opts.maxLenEvents")
  if not maxEvents then
    maxEvents = 10000
    rcall("HSET", metaKey, "opts.maxLenEvents", maxEvents)
  end
  if rcall("EXISTS", jobKey) == 1 then
    rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", jobId)
  else
    rcall("HMSET", jobKey, "name", name, "data", ARGV[a + 3], "opts", ARGV[a + 4],
      "timestamp", ARGV[a + 5], "delay", 0, "priority", 0)
    rcall("XADD", eventsKey, "*", "event", "added", "jobId", jobId, "name", name)
    local meta = rcall("HMGET", metaKey, "paused", "concurrency")
    local held = meta[1] and true or false
    if not held and meta[2] then held = rcall("LLEN", activeKey) >= tonumber(meta[2]) end
    rcall("LPUSH", waitKey, jobId)
    if not held then rcall("ZADD", markerKey, 0, "0") end
    rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
  end
  ids[i + 1] = jobId
end
return ids
`;

const COMMAND = "berthAddJobs";
const KEYS_PER_JOB = 7;

/** A job as the script stores it; `data` and `opts` already serialized. */
export interface ScriptJob {
  /** The queue's key prefix as BullMQ spells it: `<prefix>:<queue name>:`. */
  queueKey: string;
  id: string;
  name: string;
  data: string;
  opts: string;
  timestamp: number;
}

type WithAddJobs = RedisConnection & { [COMMAND](...args: (string | number)[]): Promise<string[]> };

/** Registers the script on the connection (once); ioredis sends EVALSHA and loads it on NOSCRIPT. */
export function withAddJobs(redis: RedisConnection): WithAddJobs {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: ADD_JOBS_LUA });
  return redis as WithAddJobs;
}

export function addJobs(redis: WithAddJobs, jobs: readonly ScriptJob[]): Promise<string[]> {
  const keys: string[] = [];
  const argv: (string | number)[] = [];
  for (const job of jobs) {
    const q = job.queueKey;
    keys.push(`${q}wait`, `${q}meta`, `${q}id`, `${q}events`, `${q}marker`, `${q}active`, `${q}${job.id}`);
    argv.push(job.id, job.name, job.data, job.opts, job.timestamp);
  }
  return redis[COMMAND](jobs.length * KEYS_PER_JOB, ...keys, ...argv);
}

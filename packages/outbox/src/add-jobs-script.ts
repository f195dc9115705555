import type { RedisConnection } from "@berth/queue";

/**
 * One Redis script call that adds many standard BullMQ jobs, possibly to several queues: what
 * BullMQ 6.7's `addStandardJob` writes for a job without parent, delay, priority, deduplication
 * or repeat (our delivery jobs), command for command: id counter, max-events default, duplicate
 * check ("duplicated" event), job hash, "added" event, wait list, marker unless the queue is
 * paused or at its concurrency limit, "waiting" event.
 *
 * Berth's own additions, in the same atomic call so that queue order and sequence order agree:
 *  - each event that gets at least one new job takes the next number of its repository's counter
 *    (HINCRBY on the sequence hash), written into the event JSON as the CloudEvents `sequence`
 *    extension (20-digit zero-padded decimal); an event whose every job already exists (a relay
 *    re-adding what a timed-out call had added) takes none, so re-adds leave no gap;
 *  - a new job of an ordered sink joins its repository's pending set (ZADD, score = sequence);
 *  - each sequenced event is appended to the event log stream (XADD, MAXLEN ~ maxEvents), in the
 *    form the log keeps (without a large manifest, see enqueue.ts `logForm`), and the log is
 *    trimmed by age once per call (XTRIM MINID, exact: it is the bound users see).
 *
 * Why not `Queue.add`: every event becomes one job per sink, and BullMQ's general script and its
 * client-side job object cost more CPU on both sides of every add; the figures are in the
 * package README (measure-publish-cpu.ts, and the outbox case of `pnpm bench`).
 * add-jobs-script.test.ts pins this script to BullMQ's own writes (every key, field, list,
 * marker and stream entry compared with `Queue.add` for the same jobs), so a BullMQ upgrade that
 * changes the layout fails there, not in production.
 *
 * KEYS: [1] the sequence hash, [2] the event log stream; then per job (8): wait, meta, id, events, marker, active, the job's
 *   hash, its repository's pending set for the sink (only touched when the sink is ordered); then
 *   per event (1): its "sequenced" marker.
 * ARGV: [1] number of events E, [2] the log's maxEvents (0: no log), [3] the log's oldest entry id
 *   to keep (epoch ms), [4] how long the "sequenced" markers live (s); per event (3): repository, event JSON without its closing brace,
 *   the form the log keeps (same encoding; "" = the event as listed);
 *   per job (8): event index (1-based), job id, name, sink name (JSON), opts (JSON, BullMQ's stored
 *   form), timestamp, "1" if the sink is ordered, the event's form for this sink's job (its JSON
 *   minus the closing brace, e.g. without `data.manifest` for a thin sink; "" = the event as listed),
 *   which gets the same sequence.
 * Returns the job ids, in order.
 */
const ADD_JOBS_LUA = `
local rcall = redis.call
local eventCount, logMax = tonumber(ARGV[1]), tonumber(ARGV[2])
local base = 4 + 3 * eventCount
local jobCount = (#ARGV - base) / 8
local sequencedBase = 2 + jobCount * 8
local done, eventIsNew, jobExists = {}, {}, {}
for e = 1, eventCount do done[e] = rcall("EXISTS", KEYS[sequencedBase + e]) == 1 end
for i = 0, jobCount - 1 do
  local e = tonumber(ARGV[base + i * 8 + 1])
  if not done[e] then
    local jobKey = KEYS[2 + i * 8 + 7]
    if jobExists[jobKey] == nil then jobExists[jobKey] = rcall("EXISTS", jobKey) == 1 end
    if not jobExists[jobKey] then eventIsNew[e] = true end
  end
end
local eventJson, sequence = {}, {}
for e = 1, eventCount do
  local head, seq = ARGV[3 * e + 3], ""
  if eventIsNew[e] then
    sequence[e] = rcall("HINCRBY", KEYS[1], ARGV[3 * e + 2], 1)
    rcall("SET", KEYS[sequencedBase + e], sequence[e], "EX", ARGV[4])
    seq = ',"sequence":"' .. string.format("%020d", sequence[e]) .. '"'
  end
  eventJson[e] = head .. seq .. "}"
  if eventIsNew[e] and logMax > 0 then
    local logHead = ARGV[3 * e + 4]
    rcall("XADD", KEYS[2], "MAXLEN", "~", logMax, "*", "event", logHead == "" and eventJson[e] or logHead .. seq .. "}")
  end
end
if logMax > 0 and eventCount > 0 then rcall("XTRIM", KEYS[2], "MINID", ARGV[3]) end
-- Per queue, read once per call: nothing below pauses it, sets its concurrency or moves jobs to active.
local metas = {}
local ids = {}
for i = 0, jobCount - 1 do
  local k, a = 2 + i * 8, base + i * 8
  local waitKey, metaKey, idKey, eventsKey, markerKey, activeKey, jobKey, pendingKey =
    KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5], KEYS[k + 6], KEYS[k + 7], KEYS[k + 8]
  local e, jobId, name = tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
  -- An event a call already sequenced (a relay re-add) is skipped whole.
  if not done[e] then
    rcall("INCR", idKey)
    local meta = metas[metaKey]
    if not meta then
      local m = rcall("HMGET", metaKey, "opts.maxLenEvents", "paused", "concurrency")
      meta = { maxEvents = m[1], held = m[2] and true or false }
      if not meta.maxEvents then
        meta.maxEvents = 10000
        rcall("HSET", metaKey, "opts.maxLenEvents", meta.maxEvents)
      end
      if not meta.held and m[3] then meta.held = rcall("LLEN", activeKey) >= tonumber(m[3]) end
      metas[metaKey] = meta
    end
    local maxEvents = meta.maxEvents
    -- Known from the first pass, or added earlier in this call (the same job twice in one group).
    if jobExists[jobKey] then
      rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", jobId)
    else
      local json = eventJson[e]
      local form = ARGV[a + 8]
      if form ~= "" then
        if sequence[e] then form = form .. ',"sequence":"' .. string.format("%020d", sequence[e]) .. '"' end
        json = form .. "}"
      end
      local data = '{"event":' .. json .. ',"sink":' .. ARGV[a + 4] .. '}'
      rcall("HMSET", jobKey, "name", name, "data", data, "opts", ARGV[a + 5],
        "timestamp", ARGV[a + 6], "delay", 0, "priority", 0)
      jobExists[jobKey] = true
      rcall("XADD", eventsKey, "*", "event", "added", "jobId", jobId, "name", name)
      rcall("LPUSH", waitKey, jobId)
      if not meta.held then rcall("ZADD", markerKey, 0, "0") end
      rcall("XADD", eventsKey, "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
      if ARGV[a + 7] == "1" then rcall("ZADD", pendingKey, sequence[e], jobId) end
    end
  end
  ids[i + 1] = jobId
end
return ids
`;

const COMMAND = "berthAddJobs";

/** An event as the script sequences it. */
export interface ScriptEvent {
  /** Its "sequenced" marker key (`sequencedKey(prefix, event.id)`). */
  sequencedKey: string;
  repository: string;
  /** The event's JSON (without a `sequence` member) minus its closing brace. */
  jsonHead: string;
  /** The form the event log keeps, same encoding, when not the event as listed (a manifest left out). */
  logHead?: string;
}

/** A job as the script stores it; `opts` already serialized. */
export interface ScriptJob {
  /** The queue's key prefix as BullMQ spells it: `<prefix>:<queue name>:`. */
  queueKey: string;
  /** Index of the job's event in the call's event list (0-based). */
  event: number;
  id: string;
  name: string;
  /** The sink's name as JSON: the job data is `{"event":<event>,"sink":<sink>}`. */
  sink: string;
  opts: string;
  timestamp: number;
  /** The repository's pending-set key when the sink is ordered. */
  pendingKey?: string;
  /** The event as this sink takes it (JSON minus the closing brace) when not as listed (payload). */
  form?: string;
}

type WithAddJobs = RedisConnection & { [COMMAND](...args: (string | number)[]): Promise<string[]> };

/** Registers the script on the connection (once); ioredis sends EVALSHA and loads it on NOSCRIPT. */
export function withAddJobs(redis: RedisConnection): WithAddJobs {
  if (!(COMMAND in redis)) redis.defineCommand(COMMAND, { lua: ADD_JOBS_LUA });
  return redis as WithAddJobs;
}

/** Where the script keeps sequences and the event log, and how long the log is. */
export interface ScriptTargets {
  sequenceKey: string;
  eventLogKey: string;
  /** 0: no event log. */
  logMaxEvents: number;
  /** Log entries older than this (epoch ms) are trimmed. */
  logMinId: number;
  /** How long an event's "sequenced" marker lives. */
  sequencedTtlSeconds: number;
}

export function addJobs(
  redis: WithAddJobs,
  targets: ScriptTargets,
  events: readonly ScriptEvent[],
  jobs: readonly ScriptJob[],
): Promise<string[]> {
  const keys: string[] = [targets.sequenceKey, targets.eventLogKey];
  const argv: (string | number)[] = [events.length, targets.logMaxEvents, targets.logMinId, targets.sequencedTtlSeconds];
  for (const event of events) argv.push(event.repository, event.jsonHead, event.logHead ?? "");
  for (const job of jobs) {
    const q = job.queueKey;
    const jobKey = `${q}${job.id}`;
    keys.push(`${q}wait`, `${q}meta`, `${q}id`, `${q}events`, `${q}marker`, `${q}active`, jobKey, job.pendingKey ?? jobKey);
    argv.push(job.event + 1, job.id, job.name, job.sink, job.opts, job.timestamp, job.pendingKey ? "1" : "0", job.form ?? "");
  }
  for (const event of events) keys.push(event.sequencedKey);
  return redis[COMMAND](keys.length, ...keys, ...argv);
}

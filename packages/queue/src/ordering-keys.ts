/**
 * Redis keys of per-repository sequence numbers and ordered delivery, shared by the producer (the
 * outbox's add-jobs script writes them) and the consumers (the ordered gate, `berth sink status`).
 * All sit under the queue prefix, so a Cluster hash tag in the prefix covers them with the queues.
 *
 * | key | type | written by | meaning |
 * |---|---|---|---|
 * | `P:berth:sequence` | hash repository → integer | add-jobs script (HINCRBY) | the last sequence given to an event of that repository |
 * | `P:berth:order:Q:<repository>` | zset job id → sequence | add-jobs script (ZADD), ordered gate (ZREM) | an ordered sink's undelivered jobs of that repository; the lowest is the only one that may be delivered |
 * | `P:berth:sequenced:<event id>` | string (sequence), expires after a day | add-jobs script | the event took its sequence: a later re-add of it is skipped |
 * | `P:berth:order-delivered:Q` | hash repository → integer | ordered gate | the highest sequence delivered to that ordered sink |
 */
export function sequenceKey(prefix: string): string {
  return `${prefix}:berth:sequence`;
}

/** The prefix of an ordered sink's per-repository pending sets (Q = `sinkQueueName(sink)`). */
export function orderPendingPrefix(prefix: string, queueName: string): string {
  return `${prefix}:berth:order:${queueName}:`;
}

export function orderPendingKey(prefix: string, queueName: string, repository: string): string {
  return `${orderPendingPrefix(prefix, queueName)}${repository}`;
}

export function orderDeliveredKey(prefix: string, queueName: string): string {
  return `${prefix}:berth:order-delivered:${queueName}`;
}

export function sequencedKey(prefix: string, eventId: string): string {
  return `${prefix}:berth:sequenced:${eventId}`;
}

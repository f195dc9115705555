import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SHARED_REDIS_URL, uniqueName } from "@berth/testing";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { DELIVERY_JOB_NAME, deadLetterQueueName, sinkQueueName } from "./catalog.js";
import { adminConnection } from "./connections.js";
import {
  type SinkRef,
  breakerState,
  claimSinkProbe,
  closeBreaker,
  getSinkStatus,
  halfOpenBreaker,
  openBreaker,
  pauseSink,
  recordSinkFailure,
  sinkFailureCount,
  resumeSink,
} from "./sink-state.js";

describe("sink-state", () => {
  const prefix = uniqueName("sinkstate");
  const sink: SinkRef = { type: "http", name: "audit" };
  let conn: Redis;
  let queue: Queue;
  let dead: Queue;

  before(async () => {
    conn = adminConnection(SHARED_REDIS_URL);
    queue = new Queue(sinkQueueName(sink), { connection: conn, prefix });
    dead = new Queue(deadLetterQueueName(sink), { connection: conn, prefix });
  });

  after(async () => {
    await queue.obliterate({ force: true });
    await dead.obliterate({ force: true });
    await queue.close();
    await dead.close();
    const keys = await conn.keys(`${prefix}:*`);
    if (keys.length > 0) await conn.del(...keys);
    await conn.quit();
  });

  it("reports counts of the sink queue and its dead-letter queue", async () => {
    await queue.add(DELIVERY_JOB_NAME, { n: 1 }, { jobId: "a" });
    await queue.add(DELIVERY_JOB_NAME, { n: 2 }, { jobId: "b", delay: 60_000 });
    await dead.add("dead-letter", { n: 3 }, { jobId: "c" });
    const status = await getSinkStatus(conn, prefix, sink);
    assert.deepEqual(
      { ...status },
      {
        sink: "audit",
        type: "http",
        queue: "sink.http.audit",
        deadLetterQueue: "sink.http.audit.dead",
        waiting: 1,
        active: 0,
        delayed: 1,
        failed: 0,
        deadLetters: 1,
        paused: false,
        breaker: "closed",
        consecutiveFailures: 0,
      },
    );
  });

  it("pauses with a reason and resumes", async () => {
    await pauseSink(conn, prefix, sink, "operator", "maintenance");
    assert.equal(await queue.isPaused(), true);
    let status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.paused, true);
    assert.equal(status.pauseReason, "operator");
    assert.equal(status.pauseDetail, "maintenance");
    assert.equal(status.waiting, 1, "a paused queue still counts its waiting jobs");
    await resumeSink(conn, prefix, sink);
    status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.paused, false);
    assert.equal(status.pauseReason, undefined);
  });

  it("breaker: open -> half-open after the cool-down -> closed on success", async () => {
    assert.equal(await recordSinkFailure(conn, prefix, sink), 1);
    assert.equal(await recordSinkFailure(conn, prefix, sink), 2);
    await openBreaker(conn, prefix, sink, 60_000, "2 consecutive failures");
    let status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.breaker, "open");
    assert.equal(status.pauseReason, "breaker");
    assert.equal(status.consecutiveFailures, 2);
    assert.equal(await breakerState(conn, prefix, sink, Date.now() + 61_000), "half-open");

    assert.equal(await halfOpenBreaker(conn, prefix, sink), false, "not before the cool-down ends");
    assert.equal(await halfOpenBreaker(conn, prefix, sink, Date.now() + 61_000), true);
    status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.paused, false);
    const closes = await Promise.all([closeBreaker(conn, prefix, sink), closeBreaker(conn, prefix, sink)]);
    assert.deepEqual(closes.map((c) => c.failures).sort(), [0, 2], "exactly one of two concurrent closes learns the streak ended");
    assert.deepEqual(closes.map((c) => c.wasOpen).sort(), [false, true], "the first close saw the cool-down, the second did not");
    status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.breaker, "closed");
    assert.equal(status.consecutiveFailures, 0);
    assert.equal(await sinkFailureCount(conn, prefix, sink), 0);
  });

  it("the recovery probe is claimed by one caller per interval", async () => {
    const claims = await Promise.all([1, 2, 3].map(() => claimSinkProbe(conn, prefix, sink, 60_000)));
    assert.deepEqual(claims.filter(Boolean).length, 1);
  });

  it("a breaker never overrides or lifts an operator's or a 410's pause", async () => {
    await pauseSink(conn, prefix, sink, "gone", "HTTP 410");
    await openBreaker(conn, prefix, sink, 1);
    let status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.pauseReason, "gone");
    assert.equal(await halfOpenBreaker(conn, prefix, sink), false);
    status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.paused, true);
    assert.equal(status.pauseReason, "gone");
    await resumeSink(conn, prefix, sink);
    status = await getSinkStatus(conn, prefix, sink);
    assert.equal(status.paused, false);
    assert.equal(status.breaker, "closed", "an operator's resume also resets the breaker");
  });
});

describe("sink-state under concurrent transitions", () => {
  const prefix = uniqueName("sinkrace");
  const sink: SinkRef = { type: "http", name: "race" };
  let conns: Redis[];

  before(() => {
    conns = Array.from({ length: 4 }, () => adminConnection(SHARED_REDIS_URL));
  });

  after(async () => {
    const [first] = conns;
    const keys = first ? await first.keys(`${prefix}:*`) : [];
    if (first && keys.length > 0) await first.del(...keys);
    await Promise.all(conns.map((c) => c.quit()));
  });

  it("a breaker opening while another process half-opens it never leaves the queue paused with no reason", async () => {
    // Rounds of two processes racing: one opens the breaker (cool-down 0, so it is at once
    // half-open again), the other half-opens it. Whatever the interleaving, afterwards the queue
    // must be paused exactly when a reason holds it, or nothing would ever resume it.
    const [a, b] = conns as [Redis, Redis];
    const stateKey = `${prefix}:berth:sink-state:${sinkQueueName(sink)}`;
    for (let round = 0; round < 300; round++) {
      await halfOpenBreaker(a, prefix, sink);
      // The half-open starts a little later each round, to land inside the open's steps.
      const delayMs = (round % 10) * 0.3;
      await Promise.all([
        openBreaker(a, prefix, sink, 0, `round ${round}`),
        new Promise((r) => setTimeout(r, delayMs)).then(() => halfOpenBreaker(b, prefix, sink)),
      ]);
      const status = await getSinkStatus(a, prefix, sink);
      const reason = await a.hget(stateKey, "pauseReason");
      assert.equal(status.paused, reason !== null, `round ${round}: paused=${status.paused} but pauseReason=${reason}`);
    }
  });
});

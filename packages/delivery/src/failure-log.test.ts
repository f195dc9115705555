/** The warn lines of a failing sink: one at the start, a summary per interval, one at the end. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureLogger } from "@berth/testing";
import type { AttemptFailure } from "./attempt-failure.js";
import { FailureLog } from "./failure-log.js";

const down: AttemptFailure = { name: "TransientDeliveryError", message: "HTTP 503", reason: "http_503", transient: true, pauseSink: false };

describe("failure log", () => {
  it("a streak of failures is one warn line, a summary per interval, and one line at recovery", () => {
    const { logger, lines } = captureLogger();
    const log = new FailureLog("audit", logger, 60_000);
    const t0 = 1_000_000;
    for (let i = 0; i < 100; i++) log.failed(down, `e${i}`, 1, t0 + i * 100); // 10 s of failures
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 40);
    assert.equal(lines[0]?.["sink"], "audit");
    assert.match(lines[0]?.msg ?? "", /^sink failing: HTTP 503/);

    for (let i = 0; i < 600; i++) log.failed(down, `f${i}`, 2, t0 + 10_000 + i * 100); // 60 s more
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.level, 40);
    // The summary comes 60 s after the streak's first failure (whose own line it does not count):
    // the 99 others of the first 10 s and the 501 of the next 50 s.
    assert.match(lines[1]?.msg ?? "", /^sink still failing: 600 failed attempts in the last 60 s/);
    assert.deepEqual(lines[1]?.["reasons"], { http_503: 600 });

    log.delivered(t0 + 80_000);
    log.delivered(t0 + 80_001);
    assert.equal(lines.length, 3);
    assert.match(lines[2]?.msg ?? "", /^sink delivering again after 700 failed attempts/);

    log.failed(down, "g", 1, t0 + 90_000);
    assert.equal(lines.length, 4, "a new streak starts with a new first line");
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  for (const [text, ms] of [
    ["500ms", 500],
    ["1s", 1_000],
    ["10s", 10_000],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1.5s", 1_500],
    ["0s", 0],
  ] as const) {
    it(`reads ${text} as ${ms}ms`, () => assert.equal(parseDuration(text), ms));
  }

  for (const text of ["", "fast", "10", "1d", "-1s", "1 s", "s", "1s fast", "ms"]) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseDuration(text), undefined));
  }
});

describe("formatDuration", () => {
  it("writes the shortest exact spelling that parseDuration reads back", () => {
    for (const ms of [0, 1, 500, 1_000, 30_000, 90_000, 1_500, 3_600_000, 5_430_250]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
    assert.equal(formatDuration(90_000), "1m30s");
    assert.equal(formatDuration(3_600_000), "1h");
  });
});

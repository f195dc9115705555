import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseBlobRange, parseUploadContentRange } from "./content-range.js";
import { OciError } from "./errors.js";

describe("range headers", () => {
  it("upload Content-Range: start-end inclusive; malformed is 416", () => {
    assert.deepEqual(parseUploadContentRange("0-99"), { start: 0, end: 99 });
    assert.deepEqual(parseUploadContentRange("bytes 100-199/*"), { start: 100, end: 199 });
    for (const bad of ["", "a-b", "10-5", "-5", "5-", "1-2-3"]) {
      assert.throws(() => parseUploadContentRange(bad), (e: unknown) => e instanceof OciError && e.status === 416, bad);
    }
  });

  it("property: any header string parses to a valid range or a 416", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (h) => {
        try {
          const r = parseUploadContentRange(h);
          assert.ok(r.start <= r.end);
        } catch (err) {
          assert.ok(err instanceof OciError && err.status === 416);
        }
      }),
    );
  });

  it("download Range: single ranges, suffixes, unsatisfiable → 416, others ignored", () => {
    assert.deepEqual(parseBlobRange("bytes=0-9", 100), { start: 0, end: 9 });
    assert.deepEqual(parseBlobRange("bytes=90-", 100), { start: 90, end: 99 });
    assert.deepEqual(parseBlobRange("bytes=-10", 100), { start: 90, end: 99 });
    assert.deepEqual(parseBlobRange("bytes=95-200", 100), { start: 95, end: 99 });
    assert.equal(parseBlobRange("bytes=0-1,5-6", 100), undefined);
    assert.equal(parseBlobRange("items=0-1", 100), undefined);
    assert.throws(() => parseBlobRange("bytes=100-", 100), (e: unknown) => e instanceof OciError && e.status === 416);
  });

  it("property: a returned range always lies inside the blob", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.nat({ max: 10_000 }), (h, size) => {
        try {
          const r = parseBlobRange(h, size);
          if (r) assert.ok(r.start >= 0 && r.start <= r.end && r.end < size);
        } catch (err) {
          assert.ok(err instanceof OciError && err.status === 416);
        }
      }),
    );
  });
});

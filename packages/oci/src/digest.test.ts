import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DigestVerifier, digestOf, isDigest, parseDigest } from "./digest.js";
import { OciError } from "./errors.js";

describe("digests", () => {
  it("parses sha256 and sha512", () => {
    const d = digestOf("hello");
    assert.deepEqual(parseDigest(d), { algorithm: "sha256", hex: d.slice(7), value: d });
    const d512 = digestOf("hello", "sha512");
    assert.equal(parseDigest(d512).algorithm, "sha512");
  });

  it("rejects malformed digests with DIGEST_INVALID", () => {
    for (const bad of ["", "sha256", "sha256:", "sha256:abc", `sha256:${"g".repeat(64)}`, `SHA256:${"a".repeat(64)}`, `md5:${"a".repeat(32)}`, `sha256:${"A".repeat(64)}`, `sha512:${"a".repeat(64)}`]) {
      assert.throws(() => parseDigest(bad), (err: unknown) => err instanceof OciError && err.code === "DIGEST_INVALID", bad);
    }
  });

  it("property: every sha256/sha512 of any bytes parses back to itself", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.constantFrom("sha256", "sha512" as const), (bytes, alg) => {
        const d = digestOf(bytes, alg);
        assert.equal(parseDigest(d).value, d);
      }),
    );
  });

  it("property: arbitrary strings either parse to a canonical digest or throw DIGEST_INVALID", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          const d = parseDigest(s);
          assert.equal(d.value, s);
          assert.ok(isDigest(s));
        } catch (err) {
          assert.ok(err instanceof OciError && err.code === "DIGEST_INVALID");
          assert.equal(isDigest(s), false);
        }
      }),
    );
  });

  it("the streaming verifier matches a one-shot hash and rejects a mismatch", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const v = new DigestVerifier("sha256");
        const whole = createHash("sha256");
        for (const c of chunks) {
          v.update(c);
          whole.update(c);
        }
        const expected = `sha256:${whole.digest("hex")}`;
        v.verify(parseDigest(expected));
        assert.equal(v.size, chunks.reduce((n, c) => n + c.length, 0));
      }),
    );
    const v = new DigestVerifier();
    v.update(Buffer.from("a"));
    assert.throws(() => v.verify(parseDigest(digestOf("b"))), (e: unknown) => e instanceof OciError && e.code === "DIGEST_INVALID");
  });
});

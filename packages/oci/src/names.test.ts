import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { OciError } from "./errors.js";
import { MAX_NAME_LENGTH, isValidRepositoryName, isValidTag, validateRepositoryName } from "./names.js";

const component = fc.stringMatching(/^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/);

describe("repository names and tags", () => {
  it("accepts names from the spec grammar", () => {
    for (const name of ["a", "library/alpine", "a.b/c_d/e__f/g--h", "x/y/z"]) assert.ok(isValidRepositoryName(name), name);
  });

  it("rejects '..', uppercase, over-long and other bad names with NAME_INVALID", () => {
    for (const name of ["", "A", "a/../b", "..", "a/..", "a//b", "/a", "a/", "a_", "-a", "a..b", "a___b", "a".repeat(MAX_NAME_LENGTH + 1)]) {
      assert.throws(() => validateRepositoryName(name), (e: unknown) => e instanceof OciError && e.code === "NAME_INVALID" && e.status === 400, name);
    }
  });

  it("property: names built from valid components are valid (within the length limit)", () => {
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 5 }), (parts) => {
        const name = parts.join("/");
        assert.equal(isValidRepositoryName(name), name.length <= MAX_NAME_LENGTH);
      }),
    );
  });

  it("property: any string with '..', an uppercase letter or a space is invalid", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("..", "A", " ", "//"), fc.string(), (a, bad, b) => {
        assert.equal(isValidRepositoryName(a + bad + b), false);
      }),
    );
  });

  it("tags follow [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", () => {
    for (const tag of ["latest", "v1.0.0", "_x", "A-b_c.d", "a".repeat(128)]) assert.ok(isValidTag(tag), tag);
    for (const tag of ["", ".a", "-a", "a/b", "a:b", "a".repeat(129)]) assert.equal(isValidTag(tag), false, tag);
  });
});

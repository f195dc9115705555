import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileRepositoryGlob, compileRepositoryGlobs } from "./repository-glob.js";

describe("repository globs", () => {
  it("matches exactly when there is no wildcard", () => {
    const match = compileRepositoryGlob("prod/app");
    assert.equal(match("prod/app"), true);
    assert.equal(match("prod/app2"), false);
    assert.equal(match("prod"), false);
  });

  it("* stays within one segment", () => {
    const match = compileRepositoryGlob("prod/*");
    assert.equal(match("prod/app"), true);
    assert.equal(match("prod/team/app"), false);
    assert.equal(match("staging/app"), false);
    assert.equal(compileRepositoryGlob("*-cache")("x-cache"), true);
    assert.equal(compileRepositoryGlob("*-cache")("a/x-cache"), false);
  });

  it("** crosses segments, including none", () => {
    assert.equal(compileRepositoryGlob("prod/**")("prod/team/app"), true);
    assert.equal(compileRepositoryGlob("prod/**")("prod/app"), true);
    assert.equal(compileRepositoryGlob("prod/**")("production/app"), false);
    assert.equal(compileRepositoryGlob("**/cache")("cache"), true);
    assert.equal(compileRepositoryGlob("**/cache")("a/b/cache"), true);
    assert.equal(compileRepositoryGlob("a/**/z")("a/z"), true);
    assert.equal(compileRepositoryGlob("a/**/z")("a/b/c/z"), true);
    assert.equal(compileRepositoryGlob("a/**/z")("a/b/c/y"), false);
  });

  it("treats regex characters literally", () => {
    assert.equal(compileRepositoryGlob("a.b/*")("a.b/x"), true);
    assert.equal(compileRepositoryGlob("a.b/*")("axb/x"), false);
  });

  it("an empty list matches everything; a list matches when any glob does", () => {
    assert.equal(compileRepositoryGlobs([])("anything/at/all"), true);
    const match = compileRepositoryGlobs(["prod/*", "infra/**"]);
    assert.equal(match("infra/a/b"), true);
    assert.equal(match("prod/a"), true);
    assert.equal(match("dev/a"), false);
  });
});

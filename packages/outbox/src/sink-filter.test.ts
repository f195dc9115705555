import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createEventFactory } from "@berth/events";
import { createSinkFilter } from "./sink-filter.js";
import { testEvent } from "./test-support/outbox-fixtures.js";

describe("sink filter", () => {
  it("takes every event when events and repositories are empty", () => {
    const accepts = createSinkFilter({ events: [], repositories: [] });
    assert.equal(accepts(testEvent("image.deleted", "a/b")), true);
    assert.equal(accepts(testEvent("repository.created", "c")), true);
  });

  it("filters by kind whatever the type prefix", () => {
    const accepts = createSinkFilter({ events: ["image.deleted"], repositories: [] });
    assert.equal(accepts(testEvent("image.deleted", "a")), true);
    assert.equal(accepts(testEvent("image.updated", "a")), false);
    const custom = createEventFactory({ typePrefix: "com.example" });
    assert.equal(accepts(custom.build("image.deleted", { name: "a" })), true);
    assert.equal(accepts({ ...testEvent("image.deleted", "a"), type: "com.other.thing" }), false);
  });

  it("combines kinds and repositories", () => {
    const accepts = createSinkFilter({ events: ["image.updated"], repositories: ["prod/*"] });
    assert.equal(accepts(testEvent("image.updated", "prod/app")), true);
    assert.equal(accepts(testEvent("image.updated", "dev/app")), false);
    assert.equal(accepts(testEvent("image.deleted", "prod/app")), false);
  });
});

import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { statIsCoherent } from "./coherent-stat.js";

describe("statIsCoherent", () => {
  it("is true on the local filesystem tests run on (ext4, xfs, btrfs, tmpfs, overlayfs), false when it cannot tell", async () => {
    assert.equal(await statIsCoherent(tmpdir()), true);
    assert.equal(await statIsCoherent(join(tmpdir(), "no-such-directory-for-berth")), false);
  });
});

import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sweepTemporaryFiles } from "./temp-sweep.js";

describe("sweepTemporaryFiles", () => {
  let root: string;
  const hex = "ab".repeat(32);
  const old = [
    `lib/app/index.json.0123456789ab.tmp`,
    `lib/app/oci-layout.00000000000a.tmp`,
    `lib/app/blobs/sha256/${hex}.fedcba987654.tmp`,
    `lib/app/.uploads/stream.a1b2c3d4e5f6.tmp`,
    `top/index.json.111111111111.tmp`,
  ];
  const kept = [
    "lib/app/index.json",
    `lib/app/blobs/sha256/${hex}`,
    "lib/app/.uploads/0a1b2c3d-0000-4000-8000-000000000000",
    // not the layout's temp pattern, or not storage's directory
    "lib/app/notes.tmp",
    ".berth/outbox-journal/segment.0123456789ab.tmp",
  ];
  const young = "lib/app/index.json.999999999999.tmp";

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-sweep-"));
    const longAgo = new Date(Date.now() - 3_600_000);
    for (const rel of [...old, ...kept, young]) {
      await mkdir(dirname(join(root, rel)), { recursive: true });
      await writeFile(join(root, rel), "x");
      if (rel !== young) await utimes(join(root, rel), longAgo, longAgo);
    }
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("removes the layout's temp files left by failed writes, keeps everything else and temp files still being written", async () => {
    const { removed } = await sweepTemporaryFiles(root, { minAgeMs: 60_000 });
    assert.deepEqual(removed.sort(), [...old].sort());
    const left = await readdir(root, { recursive: true });
    for (const rel of [...kept, young]) assert.ok(left.includes(rel), `${rel} kept`);
    for (const rel of old) assert.ok(!left.includes(rel), `${rel} removed`);
  });
});

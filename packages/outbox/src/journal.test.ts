import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "@berth/telemetry";
import { Journal, readSegment } from "./journal.js";
import { captureLogger } from "@berth/testing";
import { testEvent } from "./test-support/outbox-fixtures.js";

describe("journal", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-journal-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("appends concurrently, rotates by size, and drains oldest first in append order", async () => {
    const path = join(dir, "rotate");
    const journal = await Journal.open(path, { maxSegmentBytes: 2_000, logger: silentLogger() });
    assert.equal(journal.isEmpty(), true);
    const events = Array.from({ length: 30 }, (_, i) => testEvent("image.updated", `repo/${i}`));
    // The first ten without waiting (group commit must keep their order), the rest one by one.
    await Promise.all(events.slice(0, 10).map((e) => journal.append([e])));
    for (const e of events.slice(10)) await journal.append([e]);
    assert.equal(journal.depth, 30);
    assert.equal(journal.isEmpty(), false);
    const files = (await readdir(path)).sort();
    assert.ok(files.length > 2, `expected rotation, got ${files.join(",")}`);

    const drained: string[] = [];
    for (let round = 0; round < 100; round++) {
      const segment = await journal.nextSegmentToDrain();
      if (!segment) break;
      const { events: got, skipped } = await readSegment(segment, silentLogger());
      assert.equal(skipped, 0);
      drained.push(...got.map((e) => e.id));
      await journal.release(segment, got.length);
    }
    assert.deepEqual(drained, events.map((e) => e.id));
    assert.equal(journal.depth, 0);
    assert.equal(journal.isEmpty(), true);
    assert.deepEqual(await readdir(path), []);
    await journal.close();
  });

  it("counts earlier runs' records at open and starts a new segment", async () => {
    const path = join(dir, "reopen");
    const first = await Journal.open(path, { maxSegmentBytes: 1 << 20, logger: silentLogger() });
    await first.append([testEvent("image.deleted", "a"), testEvent("image.deleted", "b")]);
    await first.close();
    const second = await Journal.open(path, { maxSegmentBytes: 1 << 20, logger: silentLogger() });
    assert.equal(second.depth, 2);
    await second.append([testEvent("image.deleted", "c")]);
    assert.equal((await readdir(path)).length, 2);
    assert.equal(second.depth, 3);
    await second.close();
  });

  it("skips a torn last line and a damaged record with a warning, keeps the rest", async () => {
    const path = join(dir, "torn");
    const journal = await Journal.open(path, { maxSegmentBytes: 1 << 20, logger: silentLogger() });
    const kept = [testEvent("image.updated", "x/1"), testEvent("image.updated", "x/2"), testEvent("image.updated", "x/3")];
    await journal.append(kept);
    await journal.close();
    const [name] = await readdir(path);
    assert.ok(name);
    const file = join(path, name);
    // Damage the middle record's payload without breaking its JSON, then tear a last line.
    const text = await readFile(file, "utf8");
    const damaged = text.replace('"name":"x/2"', '"name":"x/9"');
    await rm(file);
    await appendFile(file, `${damaged}{"crc":123,"event":{"specversion":"1.0","id":"torn`);
    const { logger, lines } = captureLogger();
    const { events, skipped } = await readSegment(file, logger);
    assert.deepEqual(events.map((e) => e.data.name), ["x/1", "x/3"]);
    assert.equal(skipped, 2);
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
    assert.equal(warnings.length, 2);
    assert.ok(warnings.some((m) => m.includes("torn")));
  });
});

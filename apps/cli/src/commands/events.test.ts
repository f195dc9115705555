import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BerthConfig } from "@berth/config";
import type { BerthEvent } from "@berth/events";
import { type Outbox, openOutbox } from "@berth/outbox";
import { berthConfig, httpSinkConfig, sampleEvent } from "@berth/sink-admin/test-support";
import { Registry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, uniqueName } from "@berth/testing";
import { Redis } from "ioredis";
import { parseFromSequence, runEvents } from "./events.js";
import { captureIo } from "./sink-cli-capture-io.js";
import { EXIT } from "./sink-cli-io.js";

describe("berth events (real Redis, events published through the outbox)", () => {
  const prefix = uniqueName("cli-events");
  let connection: Redis;
  let root: string;
  let config: BerthConfig;
  let outbox: Outbox;
  const events: BerthEvent[] = [
    sampleEvent("repository.created", "team/app"),
    sampleEvent("image.updated", "team/app", "1"),
    sampleEvent("image.updated", "team/app", "2"),
    sampleEvent("image.deleted", "other/tool", "1"),
  ];

  before(async () => {
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    root = await mkdtemp(join(tmpdir(), "berth-cli-events-"));
    config = berthConfig([httpSinkConfig("hook")], SHARED_REDIS_URL, prefix);
    config.storage.rootDirectory = root;
    outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry() });
    await outbox.publish(events);
  });
  after(async () => {
    await outbox.close();
    await deleteKeysByPrefix(connection, prefix);
    await connection.quit();
    await rm(root, { recursive: true, force: true });
  });

  test("list --json prints every logged event with its sequence, oldest first", async () => {
    const io = captureIo(config);
    assert.equal(await runEvents(["list", "--json"], io), EXIT.ok, io.stderr.join("\n"));
    const listed = io.stdout.map((line) => JSON.parse(line) as BerthEvent);
    assert.deepEqual(listed.map((e) => e.id), events.map((e) => e.id));
    assert.deepEqual(listed.map((e) => `${e.data.name}#${Number(e.sequence)}`), ["team/app#1", "team/app#2", "team/app#3", "other/tool#1"]);
  });

  test("list filters by repository glob, type and --since, as a table", async () => {
    const io = captureIo(config);
    assert.equal(await runEvents(["list", "--since", "2h", "--repository", "team/*", "--type", "image.updated"], io), EXIT.ok);
    assert.equal(io.stdout[0], "LOGGED_AT\tSEQUENCE\tTYPE\tREPOSITORY\tREFERENCE\tID");
    assert.deepEqual(io.stdout.slice(1).map((l) => l.split("\t").slice(1, 5).join(" ")), [
      "2 zotregistry.image.updated team/app 1",
      "3 zotregistry.image.updated team/app 2",
    ]);
    const fromSequence = captureIo(config);
    assert.equal(await runEvents(["list", "--since", "2024-01-01T00:00:00Z", "--from-sequence", "team/app:3"], fromSequence), EXIT.ok);
    assert.equal(fromSequence.stdout.length, 2, "header and the one event from sequence 3 on");
    const later = captureIo(config, () => new Date(Date.now() + 3_600_000));
    assert.equal(await runEvents(["list", "--since", "30m"], later), EXIT.ok);
    assert.equal(later.stdout.length, 1, "nothing logged in the 30 minutes before an hour from now");
  });

  test("replay needs a sink and --since or --from-sequence; REPO:N is checked", async () => {
    for (const args of [["replay", "--since", "1h"], ["replay", "--sink", "hook"], ["replay", "--sink", "hook", "--from-sequence", "team/app"]]) {
      const io = captureIo(config);
      assert.equal(await runEvents(args, io), EXIT.usage, args.join(" "));
      assert.match(io.stderr.join("\n"), /error: /);
    }
    assert.deepEqual(parseFromSequence("a/b/c:12"), { repository: "a/b/c", sequence: 12 });
    assert.throws(() => parseFromSequence(":3"), /expected REPO:N/);
    assert.throws(() => parseFromSequence("a:0"), /expected REPO:N/);
  });
});

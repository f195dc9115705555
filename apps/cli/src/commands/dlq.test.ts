import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHttpSink } from "@berth/sink-http";
import { startDeliveryRuntime, type DeliveryRuntime } from "@berth/delivery";
import { countDeadLetters } from "@berth/sink-admin";
import {
  type TestReceiver,
  berthConfig,
  httpSinkConfig,
  sampleEvent,
  seedDeadLetters,
  startReceiver,
} from "@berth/sink-admin/test-support";
import { createMetricsRegistry, silentLogger } from "@berth/telemetry";
import { SHARED_REDIS_URL, deleteKeysByPrefix, uniqueName, waitFor } from "@berth/testing";
import { DELIVERY_JOB_NAME, deliveryJobOptions, sinkQueueName } from "@berth/queue";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { runDlq } from "./dlq.js";
import { captureIo } from "./sink-cli-capture-io.js";
import { EXIT } from "./sink-cli-io.js";

describe("berth dlq (real Redis)", () => {
  let connection: Redis;
  const prefix = uniqueName("cli-dlq");
  before(() => {
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
  });
  after(async () => {
    await deleteKeysByPrefix(connection, prefix);
    await connection.quit();
  });

  test("list prints dead letters, filtered by --type and --since; --json lines carry the event", async () => {
    const sink = httpSinkConfig("list");
    const config = berthConfig([sink], SHARED_REDIS_URL, prefix);
    const now = new Date("2024-05-01T12:00:00Z");
    const old = sampleEvent("image.deleted", "team/old", "v1");
    const fresh = sampleEvent("image.updated", "team/new", "v2");
    await seedDeadLetters(connection, prefix, sink, [old], now.getTime() - 3 * 3_600_000);
    await seedDeadLetters(connection, prefix, sink, [fresh], now.getTime() - 60_000);

    const io = captureIo(config, () => now);
    assert.equal(await runDlq(["list", "--sink", "list"], io), EXIT.ok);
    assert.equal(io.stdout.length, 3);
    assert.match(io.stdout[0]!, /^FAILED_AT\tJOB\tEVENT_ID/);
    assert.ok(io.stdout[1]!.includes(`${old.id}\tzotregistry.image.deleted\tteam/old:v1\t3\thttp_503: HTTP 503`));
    assert.ok(io.stdout[2]!.includes(fresh.id));

    const since = captureIo(config, () => now);
    assert.equal(await runDlq(["list", "--sink", "list", "--since", "1h", "--json"], since), EXIT.ok);
    assert.deepEqual(since.stdout.map((l) => JSON.parse(l).event.id), [fresh.id]);

    const byType = captureIo(config, () => now);
    assert.equal(await runDlq(["list", "--sink", "list", "--type", "image.deleted", "--json"], byType), EXIT.ok);
    assert.deepEqual(byType.stdout.map((l) => JSON.parse(l).event.id), [old.id]);

    const iso = captureIo(config, () => now);
    assert.equal(await runDlq(["list", "--sink", "list", "--since", "2024-05-01T11:00:00Z", "--json"], iso), EXIT.ok);
    assert.equal(iso.stdout.length, 1);
  });

  test("usage errors exit 2 with a clear message", async () => {
    const config = berthConfig([httpSinkConfig("a")], SHARED_REDIS_URL, prefix);
    const cases: [string[], RegExp][] = [
      [["list"], /--sink NAME is required/],
      [["list", "--sink", "nope"], /unknown sink "nope" \(configured sinks: a\)/],
      [["frobnicate", "--sink", "a"], /expected one of list, replay, purge/],
      [["list", "--sink", "a", "--since", "yesterday"], /--since "yesterday"/],
      [["replay", "--sink", "a"], /without --all/],
      [["list", "--sink", "a", "--bogus"], /bogus/],
    ];
    for (const [argv, message] of cases) {
      const io = captureIo(config);
      assert.equal(await runDlq(argv, io), EXIT.usage, argv.join(" "));
      assert.match(io.stderr.join("\n"), message);
    }
  });

  test("purge removes the sink's dead letters and only that sink's", async () => {
    const a = httpSinkConfig("purge-a");
    const b = httpSinkConfig("purge-b");
    const config = berthConfig([a, b], SHARED_REDIS_URL, prefix);
    await seedDeadLetters(connection, prefix, a, [sampleEvent(), sampleEvent()]);
    await seedDeadLetters(connection, prefix, b, [sampleEvent()]);
    const io = captureIo(config);
    assert.equal(await runDlq(["purge", "--sink", "purge-a"], io), EXIT.ok);
    assert.match(io.stdout[0]!, /purged 2 dead letter/);
    assert.equal(await countDeadLetters({ connection, prefix, sink: a }), 0);
    assert.equal(await countDeadLetters({ connection, prefix, sink: b }), 1);
  });

  describe("replay of 1,000 dead-lettered events through the real delivery runtime", () => {
    const sink = httpSinkConfig("replay", { retry: { attempts: 2, delayMs: 10, maxDelayMs: 100 } });
    let receiver: TestReceiver;
    let runtime: DeliveryRuntime | undefined;
    before(async () => {
      receiver = await startReceiver(400);
      sink.address = receiver.url;
    });
    after(async () => {
      await runtime?.close(5_000);
      await receiver.close();
    });

    test("every event comes back with its original id and is delivered", async () => {
      const config = berthConfig([sink], SHARED_REDIS_URL, prefix);
      runtime = await startDeliveryRuntime({
        config,
        sinkType: "http",
        createSink: createHttpSink,
        logger: silentLogger(),
        metrics: createMetricsRegistry("cli-dlq-test"),
      });
      // Outage: the receiver rejects everything (400 = permanent), so the runtime dead-letters all.
      const events = Array.from({ length: 1_000 }, () => sampleEvent());
      const queue = new Queue(sinkQueueName(sink), { connection, prefix });
      await queue.addBulk(
        events.map((event) => ({ name: DELIVERY_JOB_NAME, data: { event, sink: sink.name }, opts: deliveryJobOptions(sink, event.id) })),
      );
      await queue.close();
      await waitFor("1,000 dead letters", async () => (await countDeadLetters({ connection, prefix, sink })) === 1_000, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      assert.equal(receiver.delivered.length, 0);

      receiver.status = 204;
      const io = captureIo(config);
      assert.equal(await runDlq(["replay", "--sink", "replay", "--all"], io), EXIT.ok, io.stderr.join("\n"));
      assert.match(io.stdout.at(-1)!, /^replayed 1000 dead letter\(s\) of sink replay .*0 failed/);
      assert.ok(io.stderr.some((l) => /^replay: \d+\/1000 looked at/.test(l)), "progress on stderr");

      await waitFor("every replayed event delivered", () => new Set(receiver.delivered).size === 1_000, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      assert.deepEqual(new Set(receiver.delivered), new Set(events.map((e) => e.id)));
      assert.equal(await countDeadLetters({ connection, prefix, sink }), 0);
    });
  });
});

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type TestReceiver,
  berthConfig,
  httpSinkConfig,
  sampleEvent,
  seedDeadLetters,
  startReceiver,
} from "@berth/sink-admin/test-support";
import { SHARED_NATS_URL, SHARED_REDIS_URL, deleteKeysByPrefix, uniqueName } from "@berth/testing";
import { sinkQueueName } from "@berth/queue";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { openOutbox } from "@berth/outbox";
import { Registry, silentLogger } from "@berth/telemetry";
import { captureIo } from "./sink-cli-capture-io.js";
import { EXIT, processIo } from "./sink-cli-io.js";
import { runSink } from "./sink.js";

describe("berth sink (real Redis, real receiver)", () => {
  let connection: Redis;
  let receiver: TestReceiver;
  const prefix = uniqueName("cli-sink");
  before(async () => {
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    receiver = await startReceiver(204);
  });
  after(async () => {
    await deleteKeysByPrefix(connection, prefix);
    await connection.quit();
    await receiver.close();
  });

  test("pause, status and resume", async () => {
    const sink = httpSinkConfig("ops");
    const other = httpSinkConfig("other");
    const config = berthConfig([sink, other], SHARED_REDIS_URL, prefix);
    await seedDeadLetters(connection, prefix, sink, [sampleEvent(), sampleEvent()]);

    assert.equal(await runSink(["pause", "ops", "--reason", "receiver migration"], captureIo(config)), EXIT.ok);
    const queue = new Queue(sinkQueueName(sink), { connection, prefix });
    assert.equal(await queue.isPaused(), true);

    const status = captureIo(config);
    assert.equal(await runSink(["status"], status), EXIT.ok);
    assert.match(status.stdout[0]!, /^SINK\tTYPE\tWAITING/);
    assert.match(status.stdout[1]!, /^ops\thttp\t0\t0\t0\t0\t2\tpaused \(operator: receiver migration\)\tclosed$/);
    assert.match(status.stdout[2]!, /^other\thttp\t0\t0\t0\t0\t0\trunning\tclosed$/);

    assert.equal(await runSink(["resume", "ops"], captureIo(config)), EXIT.ok);
    assert.equal(await queue.isPaused(), false);
    const json = captureIo(config);
    assert.equal(await runSink(["status", "ops", "--json"], json), EXIT.ok);
    const row = JSON.parse(json.stdout[0]!);
    assert.equal(row.paused, false);
    assert.equal(row.deadLetters, 2);
    await queue.close();
  });

  test("reads the sinks and Redis prefix from a real --config file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "berth-cli-"));
    const file = join(dir, "config.json");
    await writeFile(
      file,
      JSON.stringify({
        distSpecVersion: "1.1.1",
        storage: { rootDirectory: dir },
        http: { address: "127.0.0.1", port: 5000 },
        extensions: { events: { enable: true, sinks: [{ name: "from-file", type: "http", address: receiver.url }] } },
        queue: { redis: SHARED_REDIS_URL, prefix },
      }),
    );
    try {
      const fromFile = httpSinkConfig("from-file");
      await seedDeadLetters(connection, prefix, fromFile, [sampleEvent()]);
      const io = { ...captureIo(berthConfig([], "redis://127.0.0.1:1", "wrong")), loadConfig: processIo({}).loadConfig };
      assert.equal(await runSink(["status", "--config", file, "--json"], io), EXIT.ok, io.stderr.join("\n"));
      assert.equal(JSON.parse(io.stdout[0]!).deadLetters, 1);
      const missing = { ...io, stdout: [], stderr: [] as string[] };
      missing.err = (l: string) => missing.stderr.push(l);
      assert.equal(await runSink(["status", "--config", join(dir, "nope.json")], missing), EXIT.usage);
      assert.match(missing.stderr.join("\n"), /nope\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("sink test through the real NATS sink: core publish confirmed, the subject and message printed", async () => {
    const subject = uniqueName("berth.sink-test").replaceAll("-", "_");
    const sink = httpSinkConfig("bus", { type: "nats", address: SHARED_NATS_URL, channel: subject, mode: "structured" });
    const io = captureIo(berthConfig([sink], SHARED_REDIS_URL, prefix));
    assert.equal(await runSink(["test", "bus"], io), EXIT.ok, io.stdout.join("\n"));
    assert.equal(io.stdout.find((l) => l.startsWith("PUB ")), `PUB ${subject} via ${SHARED_NATS_URL}`);
    const body = io.stdout[io.stdout.indexOf("--- outcome") - 1]!;
    assert.equal(JSON.parse(body).type, "zotregistry.image.updated");
    assert.equal(io.stdout.at(-1), "verdict: delivered");
  });

  test("usage errors exit 2", async () => {
    const config = berthConfig([httpSinkConfig("x")], SHARED_REDIS_URL, prefix);
    for (const argv of [["pause"], ["resume", "nope"], ["explode", "x"], ["test"]]) {
      const io = captureIo(config);
      assert.equal(await runSink(argv, io), EXIT.usage, argv.join(" "));
      assert.ok(io.stderr[0]?.startsWith("error: "));
    }
  });

  test("sink test: delivered, 503 would retry, 400 permanent; secrets never printed", async () => {
    const sink = httpSinkConfig("hook", {
      address: receiver.url,
      credentials: { username: "berth", password: "s3cr3t-pass" },
      headers: { "X-Api-Key": "k3y-value", "X-Team": "ops" },
    });
    const config = berthConfig([sink], SHARED_REDIS_URL, prefix);
    const expectations: [number, number, RegExp][] = [
      [204, EXIT.ok, /^verdict: delivered$/],
      [503, EXIT.wouldRetry, /^verdict: would retry/],
      [400, EXIT.permanent, /^verdict: permanent failure/],
    ];
    for (const [status, code, verdict] of expectations) {
      receiver.status = status;
      const before = receiver.received.length;
      const io = captureIo(config);
      assert.equal(await runSink(["test", "hook"], io), code, io.stdout.join("\n"));
      const text = io.stdout.join("\n");
      assert.match(io.stdout.at(-1)!, verdict);
      assert.equal(receiver.received.length, before + 1);
      const got = receiver.received.at(-1)!;
      assert.ok(text.includes(String(got.headers["ce-id"])), "prints the event id that was sent");
      assert.match(text, /authorization: Basic \*\*\*\*\*/i);
      assert.match(text, /x-api-key: \*\*\*\*\*/i);
      assert.match(text, /x-team: ops/i);
      assert.ok(!text.includes("s3cr3t-pass") && !text.includes("k3y-value"), "secrets masked");
      assert.ok(!text.includes(Buffer.from("berth:s3cr3t-pass").toString("base64")), "basic credentials masked");
    }
  });
});

describe("berth sink status of an ordered sink (real Redis, events published through the outbox)", () => {
  const prefix = uniqueName("cli-ordered");
  let connection: Redis;
  let root: string;

  before(async () => {
    connection = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: null });
    root = await mkdtemp(join(tmpdir(), "berth-cli-ordered-"));
  });
  after(async () => {
    await deleteKeysByPrefix(connection, prefix);
    await connection.quit();
    await rm(root, { recursive: true, force: true });
  });

  test("lists the repositories held back behind an undelivered event, and the same under ordering in --json", async () => {
    const config = berthConfig([httpSinkConfig("ordered", { ordering: "repository" })], SHARED_REDIS_URL, prefix);
    config.storage.rootDirectory = root;
    const outbox = await openOutbox({ config, logger: silentLogger(), metrics: new Registry() });
    try {
      // No worker runs: prod/app's second and third events wait behind its first; solo/one holds nothing back.
      await outbox.publish([1, 2, 3].map((n) => sampleEvent("image.updated", "prod/app", `v${n}`)));
      await outbox.publish([sampleEvent("image.updated", "solo/one", "v1")]);
    } finally {
      await outbox.close();
    }
    const io = captureIo(config);
    assert.equal(await runSink(["status"], io), EXIT.ok, io.stderr.join("\n"));
    assert.match(io.stdout[1]!, /^ordered\thttp\t4\t/);
    assert.deepEqual(io.stdout.slice(2), [
      "  ordering: repository; 2 repositories with undelivered events, 1 held back behind one",
      "  held: prod/app waits for sequence 1 (not failed yet); 2 events behind it",
    ]);
    const json = captureIo(config);
    assert.equal(await runSink(["status", "--json"], json), EXIT.ok);
    const status = JSON.parse(json.stdout[0]!) as { ordering: { held: number; heads: { repository: string }[] } };
    assert.equal(status.ordering.held, 1);
    assert.equal(status.ordering.heads[0]?.repository, "prod/app");
  });
});

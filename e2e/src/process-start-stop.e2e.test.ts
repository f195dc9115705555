/**
 * What an operator meets starting and stopping processes by hand: a bad config is reported once
 * per problem; a second worker on one host with the same config still starts (its ops port falls
 * back to a free one, with a warning), while a `--port` that is taken fails in one line naming the
 * flag; Ctrl-C in a terminal (SIGINT to every process, then the stack script's SIGTERM) gives
 * clean exits, the demo consumer's included.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { SHARED_NATS_URL, SHARED_REDIS_URL, freePort, uniqueName, waitFor } from "@berth/testing";
import { type LogLine, ProcessGroup, REPO_ROOT, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";

const WORKER = "apps/worker-http/src/main.ts";
const workerReady = (l: LogLine) => /worker ready/.test(String(l.msg));

/** Runs a process that is expected to exit during start-up; returns its exit code and output. */
async function runToExit(script: string, args: string[]): Promise<{ code: number | null; text: string }> {
  const child = spawn(process.execPath, ["--conditions=development", "--import", "tsx", script, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream.on("data", (d: Buffer) => {
      text += d.toString();
    });
  }
  // Bounded: a process that does not exit fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, text };
}

describe("starting and stopping processes by hand", () => {
  const group = new ProcessGroup();
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let config: string;
  let badConfig: string;
  let opsPort: number;

  before(async () => {
    tmp = await makeTempDir("start-stop");
    opsPort = await freePort();
    const listen = { address: "127.0.0.1", port: opsPort };
    config = await writeJsonFile(tmp.path, "config.json", {
      storage: { rootDirectory: tmp.path },
      extensions: { events: { enable: true, sinks: [{ name: "hook", type: "http", address: "http://127.0.0.1:9/" }] } },
      queue: { redis: SHARED_REDIS_URL, prefix: uniqueName("start-stop") },
      workers: { http: listen, nats: { ...listen, port: 0 } },
      dashboard: { address: "127.0.0.1", port: 0, auth: { anonymous: true } },
    });
    badConfig = await writeJsonFile(tmp.path, "bad.json", {
      storage: { rootDirectory: tmp.path },
      extensions: { events: { enable: true, sinks: [{ name: "k", type: "kafka", address: "x" }, { name: "n", type: "nats", address: "nats://x" }] } },
    });
  });
  after(async () => {
    await group.stopAll();
    await tmp?.remove();
  });

  for (const [name, script] of [["worker-http", WORKER], ["dashboard", "apps/dashboard/src/main.ts"]] as const) {
    test(`${name}: an invalid config exits 2 and names each problem once`, async () => {
      const { code, text } = await runToExit(script, ["--config", badConfig]);
      assert.equal(code, 2, text);
      for (const problem of [/sinks\[0\]\.type/g, /sinks\[1\]\.channel/g]) {
        assert.equal(text.match(problem)?.length, 1, `${problem} once in:\n${text}`);
      }
    });
  }

  test("a second worker with the same config takes a free ops port and says so", async () => {
    const first = await group.start({ name: "worker-1", script: WORKER, args: ["--config", config], ready: { log: workerReady, port: opsPort } });
    const second = await group.start({ name: "worker-2", script: WORKER, args: ["--config", config], ready: { log: workerReady } });
    const warning = await second.waitForLine((l) => /ops port \d+ is in use/.test(String(l.msg)));
    assert.equal(warning.configuredPort, opsPort);
    const ready = await second.waitForLine(workerReady);
    assert.notEqual(ready.port, opsPort);
    // "ready" means its ops server listens; /healthz turns 200 once its Redis link and workers run
    // (a CI run on a loaded machine read 503 at the ready line), so wait for that state.
    await waitFor("the second worker's /healthz to answer 200", async () => {
      const health = await fetch(`http://127.0.0.1:${ready.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
      return health.status === 200;
    });

    // An explicit --port is a choice: taken, it fails in one line naming the flag.
    const { code, text } = await runToExit(WORKER, ["--config", config, "--port", String(opsPort)]);
    assert.equal(code, 2, text);
    assert.match(text, /ops port 127\.0\.0\.1:\d+ is already in use; choose another with --port N/);
    assert.doesNotMatch(text, /EADDRINUSE|\n\s+at /);

    for (const w of [first, second]) assert.deepEqual(await w.stop("SIGTERM"), { code: 0, signal: null });
  });

  test("Ctrl-C then the stack's SIGTERM: the worker and the demo consumer exit 0", async () => {
    const worker = await group.start({ name: "worker-ctrl-c", script: WORKER, args: ["--config", config, "--port", "0"], ready: { log: workerReady } });
    const consumerPort = await freePort();
    const consumer = await group.start({
      name: "demo-consumer",
      script: "apps/demo-consumer/src/main.ts",
      args: ["--port", String(consumerPort), "--nats", SHARED_NATS_URL, "--subject", uniqueName("start-stop")],
      ready: { log: (l) => /NATS events from/.test(String(l.msg)), port: consumerPort },
    });
    for (const p of [worker, consumer]) {
      const exited = p.stop("SIGINT");
      process.kill(p.pid!, "SIGTERM");
      assert.deepEqual(await exited, { code: 0, signal: null }, p.tail(20));
      assert.doesNotMatch(p.tail(50), /DrainingConnectionError|Error:/);
    }
  });
});

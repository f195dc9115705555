#!/usr/bin/env node
// Runs registry, worker-http, worker-nats, dashboard and the demo consumer as child processes
// on the example config, prefixes their output, prints the URLs once all of them listen, and
// stops them all on Ctrl-C. `--no-consumer` leaves the demo consumer out, to run it with
// `pnpm demo:consumer` in another terminal (stop and start it there to watch retries).
//   node scripts/stack.mjs [--config FILE] [--no-consumer]
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG, demoConsumerArgs, readStackConfig } from "./stack-config.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: { config: { type: "string", default: DEFAULT_CONFIG }, "no-consumer": { type: "boolean", default: false } },
});
const configPath = values.config;
const config = readStackConfig(root, configPath);
const httpSink = config.extensions.events.sinks.find((s) => s.type === "http");
const natsSink = config.extensions.events.sinks.find((s) => s.type === "nats");
const receiverUrl = new URL(httpSink.address);

const env = { ...process.env, BERTH_DASHBOARD_PASSWORD: process.env.BERTH_DASHBOARD_PASSWORD ?? "admin-demo" };
const procs = [
  ["consumer", "apps/demo-consumer/dist/main.js", demoConsumerArgs(config)],
  ["registry", "apps/registry/dist/main.js", ["--config", configPath]],
  ["worker-http", "apps/worker-http/dist/main.js", ["--config", configPath]],
  ["worker-nats", "apps/worker-nats/dist/main.js", ["--config", configPath]],
  ["dashboard", "apps/dashboard/dist/main.js", ["--config", configPath]],
].filter(([label]) => label !== "consumer" || !values["no-consumer"]);

const colors = { consumer: 36, registry: 33, "worker-http": 35, "worker-nats": 32, dashboard: 34 };
const children = procs.map(([label, script, args]) => {
  const child = spawn(process.execPath, [script, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const tag = `\u001b[${colors[label]}m${label.padEnd(11)}\u001b[0m| `;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream.on("data", (d) => {
      buf += d;
      const lines = buf.split("\n");
      buf = lines.pop();
      for (const line of lines) process.stdout.write(tag + line + "\n");
    });
  }
  child.on("exit", (code, sig) => process.stdout.write(`${tag}exited (${sig ?? code})\n`));
  return child;
});

/** Resolves once something accepts TCP connections on host:port. */
function listening(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const workerHttp = config.workers?.http ?? { address: "127.0.0.1", port: 9101 };
const workerNats = config.workers?.nats ?? { address: "127.0.0.1", port: 9102 };
const endpoints = [
  ...(values["no-consumer"] ? [] : [[receiverUrl.hostname, Number(receiverUrl.port)]]),
  [config.http.address, config.http.port],
  [workerHttp.address, workerHttp.port],
  [workerNats.address, workerNats.port],
  [config.dashboard.address, config.dashboard.port],
];

// The banner promises URLs that answer: print it only once every service listens.
async function waitUntilListening() {
  for (;;) {
    const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead) return false;
    const up = await Promise.all(endpoints.map(([h, p]) => listening(h, p)));
    if (up.every(Boolean)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
}

let stopping = false;
function stopAll() {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill("SIGTERM");
  setTimeout(() => process.exit(0), 15_000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", r))))).then(() =>
    process.exit(0),
  );
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, stopAll);

if (!(await waitUntilListening())) {
  if (!stopping) console.error("\nA service stopped during start-up (see its lines above); stopping the others.");
  stopAll();
} else {
const host = config.http.address;
console.log(`
Berth is running:
  registry      http://${host}:${config.http.port}/v2/          (push a demo image: pnpm demo:push)
  dashboard     http://${config.dashboard.address}:${config.dashboard.port}/   (user ${config.dashboard.auth.username}, password $BERTH_DASHBOARD_PASSWORD or "admin-demo")
  worker-http   http://${config.workers?.http?.address ?? "127.0.0.1"}:${config.workers?.http?.port ?? 9101}/metrics
  worker-nats   http://${config.workers?.nats?.address ?? "127.0.0.1"}:${config.workers?.nats?.port ?? 9102}/metrics
  registry      http://${host}:${config.http.port}/metrics
  HTTP sink     ${httpSink.address}  (${values["no-consumer"] ? "run the demo consumer: pnpm demo:consumer" : "the demo consumer prints each event"})
  NATS sink     subject ${natsSink.channel} on ${natsSink.address}
  CLI           pnpm berth --help     (e.g. pnpm berth sink status --config ${configPath})
Ctrl-C stops everything.
`);
}

#!/usr/bin/env node
// Runs registry, worker-http, worker-nats, dashboard and the demo consumer as child processes
// on the example config, prefixes their output, and stops them all on Ctrl-C.
//   node scripts/stack.mjs [--config FILE]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { config: { type: "string", default: "packages/config/examples/local-stack.json" } } });
const configPath = values.config;
const config = JSON.parse(readFileSync(new URL(configPath, `file://${root}/`), "utf8"));
const httpSink = config.extensions.events.sinks.find((s) => s.type === "http");
const natsSink = config.extensions.events.sinks.find((s) => s.type === "nats");
const receiverUrl = new URL(httpSink.address);

const env = { ...process.env, BERTH_DASHBOARD_PASSWORD: process.env.BERTH_DASHBOARD_PASSWORD ?? "admin-demo" };
const procs = [
  ["consumer", "apps/demo-consumer/dist/main.js", ["--port", receiverUrl.port, "--user", httpSink.credentials?.username ?? "", "--password", httpSink.credentials?.password ?? "", "--nats", natsSink.address, "--subject", natsSink.channel]],
  ["registry", "apps/registry/dist/main.js", ["--config", configPath]],
  ["worker-http", "apps/worker-http/dist/main.js", ["--config", configPath]],
  ["worker-nats", "apps/worker-nats/dist/main.js", ["--config", configPath]],
  ["dashboard", "apps/dashboard/dist/main.js", ["--config", configPath]],
];

const colors = [36, 33, 35, 32, 34];
const children = procs.map(([label, script, args], i) => {
  const child = spawn(process.execPath, [script, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const tag = `\u001b[${colors[i]}m${label.padEnd(11)}\u001b[0m| `;
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

const host = config.http.address;
console.log(`
Berth is running:
  registry      http://${host}:${config.http.port}/v2/          (push: skopeo copy --dest-tls-verify=false docker://… docker://${host}:${config.http.port}/demo/app:1)
  dashboard     http://${config.dashboard.address}:${config.dashboard.port}/   (user ${config.dashboard.auth.username}, password $BERTH_DASHBOARD_PASSWORD or "admin-demo")
  worker-http   http://${config.workers?.http?.address ?? "127.0.0.1"}:${config.workers?.http?.port ?? 9101}/metrics
  worker-nats   http://${config.workers?.nats?.address ?? "127.0.0.1"}:${config.workers?.nats?.port ?? 9102}/metrics
  registry      http://${host}:${config.http.port}/metrics
  HTTP sink     ${httpSink.address}  (the demo consumer prints each event)
  NATS sink     subject ${natsSink.channel} on ${natsSink.address}
Ctrl-C stops everything.
`);

let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    for (const c of children) c.kill("SIGTERM");
    setTimeout(() => process.exit(0), 5000).unref();
    Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once("exit", r))))).then(() => process.exit(0));
  });
}

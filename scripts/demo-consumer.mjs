#!/usr/bin/env node
// The quick start's demo consumer on its own, in the foreground: `pnpm demo:consumer`. With the
// stack started as `bash scripts/stack.sh --no-consumer`, Ctrl-C here takes the HTTP sink down
// (deliveries wait in backoff) and running it again brings it back (they arrive within seconds).
//   node scripts/demo-consumer.mjs [--config FILE]
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG, demoConsumerArgs, readStackConfig } from "./stack-config.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { config: { type: "string", default: DEFAULT_CONFIG } } });
const config = readStackConfig(root, values.config);
const child = spawn(process.execPath, ["apps/demo-consumer/dist/main.js", ...demoConsumerArgs(config)], { cwd: root, stdio: "inherit" });
// Passed on (Ctrl-C in a terminal reaches both; the consumer stops once either way).
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code) => process.exit(code ?? 0));

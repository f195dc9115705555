#!/usr/bin/env node
// Composition root of the `berth` CLI: the only place that touches process state.
import { runBerth } from "./cli.js";

process.exitCode = await runBerth(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  cwd: process.cwd(),
});

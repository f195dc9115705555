#!/usr/bin/env node
// Runs every test file of the workspace in one node:test run, so the summary counts them all,
// then prints the plain `N passed, N failed` line that CI reads.
//   node scripts/run-tests.mjs                 unit + integration + e2e
//   node scripts/run-tests.mjs --suite all     everything, chaos included (what `pnpm test` runs)
//   node scripts/run-tests.mjs --suite e2e     only *.e2e.test.ts
//   node scripts/run-tests.mjs --suite chaos   only *.chaos.test.ts
//   extra args after `--` go to node (e.g. --test-name-pattern=...)
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const dashDash = args.indexOf("--");
const passThrough = dashDash >= 0 ? args.slice(dashDash + 1) : [];
const own = dashDash >= 0 ? args.slice(0, dashDash) : args;
const suiteIdx = own.indexOf("--suite");
const suite = suiteIdx >= 0 ? own[suiteIdx + 1] : "default";
const filters = own.filter((a, i) => !a.startsWith("--") && own[i - 1] !== "--suite");

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const all = ["apps", "packages", "e2e"].flatMap((d) => walk(join(root, d), []));
const pick = {
  default: (f) => !f.endsWith(".chaos.test.ts"),
  e2e: (f) => f.endsWith(".e2e.test.ts"),
  chaos: (f) => f.endsWith(".chaos.test.ts"),
  all: () => true,
}[suite];
if (!pick) {
  console.error(`unknown --suite ${suite} (allowed: default, e2e, chaos, all)`);
  process.exit(2);
}
const files = all
  .filter(pick)
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .map((f) => relative(root, f))
  .sort();
if (files.length === 0) {
  console.error("no test files matched");
  console.log("0 passed, 0 failed");
  process.exit(1);
}

const nodeArgs = [
  "--conditions=development",
  "--import",
  "tsx",
  "--test",
  "--test-reporter=spec",
  // A leaked handle in one file must not hang the whole run after its tests finished.
  "--test-force-exit",
  `--test-concurrency=${process.env.BERTH_TEST_CONCURRENCY ?? 4}`,
  `--test-timeout=${suite === "chaos" || suite === "all" ? 600_000 : 240_000}`,
  ...passThrough,
  ...files,
];
const child = spawn(process.execPath, nodeArgs, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
// The spec reporter's summary ("ℹ pass N", "ℹ fail N", …) comes before its list of failures, so
// the counts are picked up line by line as they stream, the last value of each winning.
const counts = {};
let partial = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString()).split("\n");
  partial = lines.pop();
  for (const line of lines) {
    const m = line.match(/^\u2139 (pass|fail|cancelled) (\d+)$/);
    if (m) counts[m[1]] = Number(m[2]);
  }
});
child.on("close", (code) => {
  const num = (label) => counts[label] ?? 0;
  const passed = num("pass");
  const failed = num("fail") + num("cancelled");
  const ok = code === 0 && failed === 0 && passed > 0;
  console.log(`${passed} passed, ${ok ? 0 : Math.max(failed, 1)} failed`);
  process.exit(ok ? 0 : 1);
});

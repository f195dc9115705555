#!/usr/bin/env node
// Runs the outbox's add-jobs contract test (packages/outbox/src/add-jobs-script.test.ts) against
// the newest bullmq release, installed into a temp dir, so an upgrade the script does not follow
// is known before anyone bumps the catalog pin. The pinned release is tested by `pnpm test`.
//
// BERTH_BULLMQ_VERSION=x.y.z checks that release instead (a candidate pin).
//
// Exit codes: 0 the contract holds on the newest release (or it is the pinned one);
// 1 the newest release breaks it; 2 the check could not run (registry unreachable, install failed).
// scripts/test.sh runs it as a warning, not a failure: see the README of packages/outbox.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));
const TEST = "packages/outbox/src/add-jobs-script.test.ts";

const pinned = /^\s*bullmq:\s*([^\s#]+)/m.exec(readFileSync(join(root, "pnpm-workspace.yaml"), "utf8"))?.[1];
let latest = process.env.BERTH_BULLMQ_VERSION;
try {
  latest ??= execFileSync("npm", ["view", "bullmq", "version"], { encoding: "utf8", timeout: 30_000 }).trim();
} catch (err) {
  console.log(`bullmq contract: could not ask the registry for the newest bullmq (${err.message.split("\n")[0]}); not checked`);
  process.exit(2);
}
if (latest === pinned) {
  console.log(`bullmq contract: the newest release is the pinned ${pinned}; pnpm test covers it`);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "berth-bullmq-latest-"));
try {
  writeFileSync(join(dir, "package.json"), '{"name":"bullmq-latest-check","private":true}\n');
  const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", `bullmq@${latest}`], {
    cwd: dir,
    encoding: "utf8",
    timeout: 180_000,
  });
  if (install.status !== 0) {
    console.log(`bullmq contract: installing bullmq@${latest} failed; not checked\n${install.stderr}`);
    process.exit(2);
  }
  const run = spawnSync(
    process.execPath,
    [
      "--conditions=development", "--import", "tsx", "--import", join(here, "resolve-bullmq.mjs"),
      // As scripts/run-tests.mjs: the suites' shared Redis connections would keep the run open.
      "--test", "--test-force-exit", "--test-timeout=60000", "--test-reporter=spec", TEST,
    ],
    { cwd: root, env: { ...process.env, BERTH_BULLMQ_DIR: dir }, encoding: "utf8", timeout: 300_000 },
  );
  if (run.status === null) {
    console.log(`bullmq contract: the contract test on bullmq ${latest} did not finish (${run.signal ?? run.error?.message}); not checked`);
    process.exit(2);
  }
  if (run.status === 0) {
    console.log(`bullmq contract: holds on bullmq ${latest} (checked; pinned ${pinned})`);
    process.exit(0);
  }
  process.stdout.write(run.stdout);
  process.stdout.write(run.stderr);
  console.log(
    [
      "",
      `bullmq contract: BROKEN by bullmq ${latest} (checked; pinned ${pinned}).`,
      `  The outbox's add-jobs script (packages/outbox/src/add-jobs-script.ts) no longer writes what`,
      `  this release's Queue.add writes (${TEST}, output above). Before bumping the catalog pin,`,
      "  update the script to the new layout, or replace it with Queue.addBulk.",
    ].join("\n"),
  );
  process.exit(1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

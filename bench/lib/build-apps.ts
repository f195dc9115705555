/** Builds the Berth apps the bench runs (and, through turbo, the packages they depend on). */
import { spawnSync } from "node:child_process";
import { type BerthApp, REPO_ROOT, appExists } from "./spawn-app.js";
import { progress } from "./progress.js";

export function buildApps(apps: readonly BerthApp[]): void {
  const present = apps.filter((app) => appExists(app, "source"));
  if (present.length === 0) return;
  progress(`building ${present.join(", ")} (turbo run build)`);
  const filters = present.map((app) => `--filter=@berth/${app}`);
  const result = spawnSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only", ...filters], {
    cwd: REPO_ROOT,
    stdio: ["ignore", 2, 2],
  });
  if (result.status !== 0) throw new Error(`building ${present.join(", ")} failed (exit ${result.status ?? result.signal})`);
}

/** Compiles the bench's own baseline worker, so it runs as plain JavaScript like Berth's apps. */
export function buildBaselines(): void {
  progress("building the bench's baseline worker (bench/tsconfig.build.json)");
  const result = spawnSync("pnpm", ["--filter", "@berth/bench", "exec", "tsc", "-p", "tsconfig.build.json"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", 2, 2],
  });
  if (result.status !== 0) throw new Error(`building the bench baselines failed (exit ${result.status ?? result.signal})`);
}

/** Starts the shared Redis and NATS when nothing listens (the same script CI uses). */
export function ensureServices(): void {
  const result = spawnSync("bash", ["scripts/ensure-services.sh"], { cwd: REPO_ROOT, stdio: ["ignore", 2, 2] });
  if (result.status !== 0) throw new Error("Redis (127.0.0.1:6379) and NATS (127.0.0.1:4222) are needed; see above");
}

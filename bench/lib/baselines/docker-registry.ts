/**
 * The registry baseline: CNCF Distribution 2.8 as Debian packages it (`docker-registry`), started
 * on its own free port with filesystem storage in a temp dir, delete enabled, no auth.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@berth/testing";
import { progress } from "../progress.js";
import { type Spawned, spawnProcess } from "../spawn-app.js";
import { waitForHttp } from "../wait-http.js";

const run = promisify(execFile);
export const DOCKER_REGISTRY = "/usr/bin/docker-registry";

let installAttempt: Promise<boolean> | undefined;

/** True when the binary is there, installing it with apt when we are root and it is not. */
export function ensureDockerRegistry(): Promise<boolean> {
  installAttempt ??= (async () => {
    if (existsSync(DOCKER_REGISTRY)) return true;
    if (process.getuid?.() !== 0) {
      progress("docker-registry is not installed and we are not root: registry baselines unavailable");
      return false;
    }
    progress("installing docker-registry (apt-get install -y docker-registry)");
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
      await run("apt-get", ["update", "-qq"], { env });
      await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "docker-registry"], { env });
    } catch (err) {
      progress(`apt-get install docker-registry failed: ${(err as Error).message.split("\n")[0]}`);
    }
    return existsSync(DOCKER_REGISTRY);
  })();
  return installAttempt;
}

export interface BaselineRegistry {
  url: string;
  process: Spawned;
  stop(): Promise<void>;
}

export async function startDockerRegistry(): Promise<BaselineRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-distribution-"));
  const port = await freePort();
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  cache:",
    "    blobdescriptor: inmemory",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "  secret: berth-bench-not-a-secret",
    "",
  ].join("\n");
  const configPath = join(dir, "config.yml");
  await writeFile(configPath, config);
  const proc = spawnProcess("docker-registry", DOCKER_REGISTRY, ["serve", configPath]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/v2/`, proc);
  } catch (err) {
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    process: proc,
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

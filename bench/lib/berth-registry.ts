/** A Berth registry as its own process, on a free port, with its storage in a temp dir. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@berth/testing";
import { type BenchSink, writeBerthConfig } from "./berth-config.js";
import { type AppMode, type Spawned, spawnBerthApp } from "./spawn-app.js";
import { waitForHttp } from "./wait-http.js";

export interface RunningRegistry {
  url: string;
  process: Spawned;
  stop(): Promise<void>;
}

export interface BerthRegistryOptions {
  mode: AppMode;
  redisUrl: string;
  prefix: string;
  events: boolean;
  sinks?: readonly BenchSink[];
  label?: string;
  fsyncDirectories?: boolean;
  /** Serve this storage root (shared by replicas, or prepared beforehand) instead of a fresh one. */
  rootDirectory?: string;
  /** Extra registry `http` keys (limits). */
  http?: Record<string, unknown>;
  /** Environment the case sets on purpose (e.g. the outbox case's BERTH_BENCH_OUTBOX_ADD_PATH). */
  env?: Record<string, string>;
}

export async function startBerthRegistry(o: BerthRegistryOptions): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-registry-"));
  const port = await freePort();
  const config = await writeBerthConfig({
    dir,
    registryPort: port,
    redisUrl: o.redisUrl,
    prefix: o.prefix,
    events: o.events,
    sinks: o.sinks ?? [],
    ...(o.fsyncDirectories === undefined ? {} : { fsyncDirectories: o.fsyncDirectories }),
    ...(o.rootDirectory ? { rootDirectory: o.rootDirectory } : {}),
    ...(o.http ? { http: o.http } : {}),
  });
  let proc: Spawned | undefined;
  try {
    proc = spawnBerthApp("registry", config, o.mode, o.label ?? "berth-registry", { env: o.env });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/v2/`, proc);
    const running = proc;
    return {
      url,
      process: running,
      async stop() {
        await running.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await proc?.stop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Spawning real worker processes (the app's main.ts) for the process-level contract cases. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { waitFor } from "@berth/testing";

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: string[];
}

export interface ConfigFileOptions {
  redisUrl: string;
  prefix: string;
  sinks: Record<string, unknown>[];
}

/** Writes a config file in the operator's spelling; returns its path and a clean-up. */
export async function writeConfigFile(o: ConfigFileOptions): Promise<{ file: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "berth-contract-"));
  const file = join(dir, "config.json");
  const config = {
    storage: { rootDirectory: join(dir, "storage") },
    log: { level: "info" },
    queue: { redis: o.redisUrl, prefix: o.prefix },
    extensions: { events: { enable: true, sinks: o.sinks } },
  };
  await writeFile(file, JSON.stringify(config, null, 2));
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Starts `node --import tsx <main> --config <file> --port 0` and waits for its ready line. */
export async function spawnWorker(main: string, configFile: string, extraArgs: string[] = []): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ["--conditions=development", "--import", "tsx", main, "--config", configFile, "--port", "0", ...extraArgs],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  let port: number | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stdout! }).on("line", (line) => {
    output.push(line);
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg?.startsWith("worker ready") && typeof entry.port === "number") port = entry.port;
    } catch {
      // not a log line
    }
  });
  createInterface({ input: child.stderr! }).on("line", (line) => output.push(`stderr: ${line}`));
  let exitedEarly = false;
  void exited.then(() => {
    exitedEarly = true;
  });
  await waitFor(
    `worker ${main} ready`,
    () => {
      if (exitedEarly) throw new Error(`worker exited during start:\n${output.join("\n")}`);
      return port;
    },
    { timeoutMs: 30_000 },
  ).catch((err) => {
    child.kill("SIGKILL");
    throw err;
  });
  return { child, port: port!, exited, output };
}

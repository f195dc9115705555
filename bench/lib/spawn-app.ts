/**
 * Child processes of the bench: Berth's apps, the baselines, and the bare workers. Every one is
 * tracked so that `stopAll` (called on exit, on Ctrl-C and after each case) leaves nothing behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type BerthApp = "registry" | "worker-http" | "worker-nats" | "dashboard";

/** `dist`: the built JavaScript, as deployed. `source`: TypeScript through tsx (development). */
export type AppMode = "dist" | "source";

export interface Spawned {
  readonly name: string;
  readonly pid: number;
  /** Non-null once the process has exited. */
  exitCode(): number | string | null;
  /** The last few KB of its stdout+stderr, for crash reports. */
  output(): string;
  /** Calls `listener` with every chunk of stdout+stderr from now on (e.g. --trace-gc-nvp lines). */
  onOutput(listener: (text: string) => void): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Spawned>();
const KEEP_OUTPUT = 8192;

export function spawnProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; keepOutput?: boolean } = {},
): Spawned {
  const child: ChildProcess = spawn(command, args, {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command} ${args.join(" ")}`);
  let tail = "";
  const listeners: ((text: string) => void)[] = [];
  const keep = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    tail = (tail + text).slice(-KEEP_OUTPUT);
    for (const l of listeners) l(text);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  let exit: number | string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exit = code ?? signal ?? "exited";
      resolve();
    }),
  );
  const handle: Spawned = {
    name,
    pid: child.pid,
    exitCode: () => exit,
    output: () => tail,
    onOutput: (listener) => {
      listeners.push(listener);
    },
    async stop(graceMs = 5000) {
      live.delete(handle);
      if (exit !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(handle);
  return handle;
}

/** Throws with the process's last output when it has died: a crash must not look like a slow run. */
export function assertAlive(p: Spawned): void {
  const code = p.exitCode();
  if (code !== null) throw new Error(`${p.name} (pid ${p.pid}) exited (${code}):\n${p.output()}`);
}

export function appEntry(app: BerthApp, mode: AppMode): string {
  return join(REPO_ROOT, "apps", app, mode === "dist" ? "dist/main.js" : "src/main.ts");
}

export function appExists(app: BerthApp, mode: AppMode): boolean {
  return existsSync(appEntry(app, mode));
}

/** Env for Berth apps: the parent's, minus any BERTH_* override that would change the config. */
function appEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("BERTH_")) env[k] = v;
  return env;
}

/**
 * Extra node flags for the apps and the bare workers, from BENCH_NODE_FLAGS (for example
 * "--cpu-prof --cpu-prof-dir=/tmp/prof"): profiling a case without editing it, both sides alike.
 * Node refuses these in NODE_OPTIONS.
 */
function diagnosticNodeFlags(): string[] {
  return (process.env.BENCH_NODE_FLAGS ?? "").split(/\s+/).filter(Boolean);
}

/**
 * `nodeFlags`: node options a case needs for this process (e.g. --trace-gc-nvp), before the entry;
 * `env`: variables the case sets on purpose (the run's own BERTH_* are stripped, see appEnv).
 */
export function spawnBerthApp(
  app: BerthApp,
  configPath: string,
  mode: AppMode,
  label: string = app,
  extra: { nodeFlags?: readonly string[]; env?: Record<string, string> } = {},
): Spawned {
  const entry = appEntry(app, mode);
  if (!existsSync(entry)) throw new Error(`Berth part missing: ${entry}`);
  const node = mode === "dist" ? [] : ["--conditions=development", "--import", "tsx"];
  const args = [...diagnosticNodeFlags(), ...(extra.nodeFlags ?? []), ...node, entry, "--config", configPath];
  return spawnProcess(label, process.execPath, args, { env: { ...appEnv(), ...extra.env } });
}

/**
 * A script of the bench itself (the bare baseline workers), `script` relative to bench/ without
 * extension: compiled JavaScript in dist mode, like Berth's apps, so neither side pays for tsx.
 */
export function spawnBenchScript(
  label: string,
  script: string,
  args: readonly string[],
  mode: AppMode,
  nodeFlags: readonly string[] = [],
): Spawned {
  const flags = [...diagnosticNodeFlags(), ...nodeFlags];
  if (mode === "dist") {
    const js = join(REPO_ROOT, "bench/dist", `${script}.js`);
    if (!existsSync(js)) throw new Error(`${js} is not built (bench/tsconfig.build.json)`);
    return spawnProcess(label, process.execPath, [...flags, js, ...args]);
  }
  const ts = join(REPO_ROOT, "bench", `${script}.ts`);
  return spawnProcess(label, process.execPath, [...flags, "--conditions=development", "--import", "tsx", ts, ...args]);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(3000)));
}

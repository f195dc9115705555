/**
 * Runs Berth's apps as real child processes for whole-stack tests: spawn from source (tsx),
 * capture the JSON log lines, wait until ready (a port answers or a log line appears), stop with
 * SIGTERM (SIGKILL after a bound) or kill outright, and restart with the same arguments.
 *
 * Every process belongs to a ProcessGroup; `group.stopAll()` in an `after` hook kills what is
 * left, and a process-exit hook SIGKILLs stragglers if the test runner dies first.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { portOpen } from "./servers.js";
import { waitFor } from "./wait-for.js";

/** The monorepo root (apps are spawned with it as working directory). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** One parsed line of an app's pino output (or `{ msg, raw: true }` for a non-JSON line). */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface ProcessSpec {
  /** Label used in errors. */
  name: string;
  /** Entry file relative to the repo root, run with `--conditions=development --import tsx`. */
  script: string;
  args?: string[];
  /** Added to a copy of process.env. */
  env?: Record<string, string | undefined>;
  /** Readiness: a TCP port that must answer, and/or a log line that must appear. */
  ready?: { port?: number; log?: (line: LogLine) => boolean; timeoutMs?: number };
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How many lines of output to keep (older ones are dropped, counts stay exact). */
const MAX_KEPT_LINES = 20_000;

export class ManagedProcess {
  /** Parsed output lines of every run (stdout and stderr), oldest first. */
  readonly lines: LogLine[] = [];
  /** Exit status of every finished run. */
  readonly exits: ExitStatus[] = [];
  /** How many times the process was started. */
  starts = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<ExitStatus> | undefined;

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and resolves once it is ready; throws with its last output if it is not. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    const firstLine = this.lines.length;
    const child = spawn(
      process.execPath,
      ["--conditions=development", "--import", "tsx", this.spec.script, ...(this.spec.args ?? [])],
      { cwd: REPO_ROOT, env: { ...process.env, ...this.spec.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    this.starts++;
    liveChildren.add(child);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        liveChildren.delete(child);
        const status = { code, signal };
        this.exits.push(status);
        resolve(status);
      });
    });
    child.once("error", (err) => this.push({ msg: `spawn error: ${err.message}`, raw: true }));
    this.capture(child.stdout);
    this.capture(child.stderr);
    const ready = this.spec.ready ?? {};
    try {
      await waitFor(
        `${this.spec.name} to be ready`,
        async () => {
          if (!this.running) throw new Error(`${this.spec.name} exited during start-up`);
          if (ready.log && !this.lines.slice(firstLine).some(ready.log)) return false;
          if (ready.port !== undefined && !(await portOpen(ready.port))) return false;
          return true;
        },
        { timeoutMs: ready.timeoutMs ?? 30_000, intervalMs: 50 },
      );
    } catch (err) {
      await this.kill();
      throw new Error(`${(err as Error).message}\n--- last output of ${this.spec.name} ---\n${this.tail(30)}`, {
        cause: err,
      });
    }
  }

  /** SIGTERM (or `signal`), then SIGKILL if it has not exited within `timeoutMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000): Promise<ExitStatus | undefined> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited || !this.running) return this.exits.at(-1);
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const status = await exited;
    clearTimeout(timer);
    return status;
  }

  /** SIGKILL: the crash case. */
  kill(): Promise<ExitStatus | undefined> {
    return this.stop("SIGKILL");
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Resolves with the first line (from `fromLine` on) that matches; rejects after `timeoutMs`. */
  waitForLine(match: (line: LogLine) => boolean, { fromLine = 0, timeoutMs = 10_000 } = {}): Promise<LogLine> {
    return waitFor(`a log line of ${this.spec.name}`, () => this.lines.slice(fromLine).find(match), {
      timeoutMs,
      intervalMs: 50,
    });
  }

  /** The last `n` output lines as text, for failure messages. */
  tail(n: number): string {
    return this.lines
      .slice(-n)
      .map((l) => (l.raw ? String(l.msg) : JSON.stringify(l)))
      .join("\n");
  }

  private capture(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    let buf = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      for (const text of parts) if (text.trim() !== "") this.push(parseLine(text));
    });
  }

  private push(line: LogLine): void {
    this.lines.push(line);
    if (this.lines.length > MAX_KEPT_LINES) this.lines.splice(0, this.lines.length - MAX_KEPT_LINES);
  }
}

function parseLine(text: string): LogLine {
  if (text.startsWith("{")) {
    try {
      const value = JSON.parse(text) as unknown;
      if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as LogLine;
    } catch {
      // not JSON after all: kept as raw text below
    }
  }
  return { msg: text, raw: true };
}

/** Children still running, SIGKILLed if the test process exits without cleaning up. */
const liveChildren = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of liveChildren) child.kill("SIGKILL");
});

/** The processes of one test; `stopAll()` belongs in an `after` hook. */
export class ProcessGroup {
  readonly processes: ManagedProcess[] = [];

  /** Creates and starts a process (a failed start still leaves it in the group for cleanup). */
  async start(spec: ProcessSpec): Promise<ManagedProcess> {
    const p = new ManagedProcess(spec);
    this.processes.push(p);
    await p.start();
    return p;
  }

  /** SIGTERM everything in parallel (SIGKILL after `timeoutMs`). */
  async stopAll(timeoutMs = 5_000): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop("SIGTERM", timeoutMs)));
  }
}

/** A temp directory removed by the returned `remove()`. */
export async function makeTempDir(label: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `berth-${label}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Writes `value` as JSON to `dir/name` and returns the file's path. */
export async function writeJsonFile(dir: string, name: string, value: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

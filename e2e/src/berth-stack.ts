/**
 * The whole Berth stack as real processes for the e2e and chaos suites: a zot-format config file
 * in a temp dir, a bcrypt htpasswd for the registry, then registry (or N registry replicas over
 * one storage root), N × worker-http, N × worker-nats and (optionally) the dashboard on free ports, against a Redis and a NATS the
 * test owns (so it can restart them). `destroy()` stops everything; call it from `after`.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { journalDirectory } from "@berth/outbox";
import { freePort } from "@berth/testing";
import {
  type LogLine,
  ManagedProcess,
  type ProcessSpec,
  ProcessGroup,
  makeTempDir,
  writeJsonFile,
} from "@berth/testing/process-harness";
import bcrypt from "bcryptjs";

export const REGISTRY_USER = { username: "pusher", password: "push-secret-e2e" };
export const DASHBOARD_USER = { username: "ops", password: "dash-secret-e2e" };

export interface StackOptions {
  label: string;
  /** `queue.redis` as an operator writes it: a URL, or a Sentinel / Cluster object. */
  redisUrl: string | Record<string, unknown>;
  queuePrefix: string;
  /** `queue.durability` as written (`{ minReplicas: 1, timeout: "250ms" }`). */
  durability?: Record<string, unknown>;
  /** Raw sink entries as an operator writes them in `extensions.events.sinks`. */
  sinks: Record<string, unknown>[];
  lint?: { mandatoryAnnotations: string[] };
  httpWorkers: number;
  natsWorkers: number;
  dashboard: boolean;
  logLevel?: string;
  /** Registry processes over the one storage root, each on its own port (default 1). */
  registryReplicas?: number;
}

const isWorkerReady = (line: LogLine) => typeof line.port === "number" && /worker ready/.test(String(line.msg));

export class BerthStack {
  readonly group = new ProcessGroup();
  /** The first registry replica (the only one unless `registryReplicas` > 1). */
  registry!: ManagedProcess;
  readonly registries: ManagedProcess[] = [];
  readonly registryPorts: number[] = [];
  readonly httpWorkers: ManagedProcess[] = [];
  readonly natsWorkers: ManagedProcess[] = [];
  dashboard: ManagedProcess | undefined;
  registryPort = 0;
  dashboardPort = 0;
  configFile = "";

  private constructor(
    readonly dir: string,
    private readonly removeDir: () => Promise<void>,
  ) {}

  get registryUrl(): string {
    return `http://127.0.0.1:${this.registryPort}`;
  }

  /** Every registry replica's URL, in `registries` order. */
  get registryUrls(): string[] {
    return this.registryPorts.map((port) => `http://127.0.0.1:${port}`);
  }

  /** `host:port` as skopeo's docker:// references want it. */
  get registryHost(): string {
    return `127.0.0.1:${this.registryPort}`;
  }

  get workers(): ManagedProcess[] {
    return [...this.httpWorkers, ...this.natsWorkers];
  }

  static async start(options: StackOptions): Promise<BerthStack> {
    const tmp = await makeTempDir(options.label);
    const stack = new BerthStack(tmp.path, tmp.remove);
    try {
      await stack.boot(options);
    } catch (err) {
      await stack.destroy();
      throw err;
    }
    return stack;
  }

  private async boot(options: StackOptions): Promise<void> {
    // Cost 6 keeps bcrypt cheap for the test; the registry accepts any bcrypt cost.
    const hash = bcrypt.hashSync(REGISTRY_USER.password, 6);
    await writeFile(join(this.dir, "htpasswd"), `${REGISTRY_USER.username}:${hash}\n`);
    this.registryPort = await freePort();
    this.dashboardPort = await freePort();
    const config = {
      distSpecVersion: "1.1.1",
      storage: { rootDirectory: join(this.dir, "storage") },
      http: { address: "127.0.0.1", port: this.registryPort, auth: { htpasswd: { path: "htpasswd" } } },
      log: { level: options.logLevel ?? "info" },
      extensions: {
        ...(options.lint ? { lint: { enable: true, mandatoryAnnotations: options.lint.mandatoryAnnotations } } : {}),
        events: { enable: true, sinks: options.sinks },
      },
      queue: {
        redis: options.redisUrl,
        prefix: options.queuePrefix,
        ...(options.durability ? { durability: options.durability } : {}),
      },
      dashboard: { address: "127.0.0.1", port: this.dashboardPort, auth: DASHBOARD_USER },
      workers: { http: { address: "127.0.0.1", port: 0 }, nats: { address: "127.0.0.1", port: 0 } },
    };
    this.configFile = await writeJsonFile(this.dir, "config.json", config);
    const starts: Promise<unknown>[] = [];
    this.registryPorts.push(this.registryPort);
    for (let i = 0; i < (options.registryReplicas ?? 1); i++) {
      // Replicas differ only in their listen port (the README's "Running replicas").
      if (i > 0) this.registryPorts.push(await freePort());
      const file = i === 0 ? this.configFile : await writeJsonFile(this.dir, `config-registry-${i}.json`, { ...config, http: { ...config.http, port: this.registryPorts[i] } });
      this.registries.push(this.spawnRegistry(i, file));
    }
    this.registry = this.registries[0]!;
    starts.push(...this.registries.map((r) => r.start()));
    for (let i = 0; i < options.httpWorkers; i++) this.httpWorkers.push(this.spawnWorker("http", i));
    for (let i = 0; i < options.natsWorkers; i++) this.natsWorkers.push(this.spawnWorker("nats", i));
    starts.push(...this.workers.map((w) => w.start()));
    if (options.dashboard) {
      this.dashboard = this.spawn({
        name: "dashboard",
        script: "apps/dashboard/src/main.ts",
        args: ["--config", this.configFile],
        ready: { port: this.dashboardPort },
      });
      starts.push(this.dashboard.start());
    }
    const results = await Promise.allSettled(starts);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Created, not started: the group tracks it from now on, so stopAll() covers it. */
  private spawn(spec: ProcessSpec): ManagedProcess {
    const p = new ManagedProcess(spec);
    this.group.processes.push(p);
    return p;
  }

  private spawnRegistry(i: number, configFile: string): ManagedProcess {
    return this.spawn({
      name: i === 0 ? "registry" : `registry-${i}`,
      script: "apps/registry/src/main.ts",
      args: ["--config", configFile],
      ready: { port: this.registryPorts[i]! },
    });
  }

  private spawnWorker(type: "http" | "nats", i: number): ManagedProcess {
    return this.spawn({
      name: `worker-${type}-${i}`,
      script: `apps/worker-${type}/src/main.ts`,
      args: ["--config", this.configFile, "--port", "0"],
      ready: { log: isWorkerReady },
    });
  }

  /** The ops port a worker's current run listens on (from its "worker ready" log line). */
  workerOpsPort(worker: ManagedProcess): number {
    const line = worker.lines.findLast(isWorkerReady);
    if (!line) throw new Error(`${worker.spec.name} has not logged its ops port`);
    return line.port as number;
  }

  /** Sum of a counter over every worker of the list, read from their /metrics now. */
  async sumMetric(workers: ManagedProcess[], metric: string, labels: Record<string, string>): Promise<number> {
    let total = 0;
    for (const w of workers) {
      if (!w.running) continue;
      const res = await fetch(`http://127.0.0.1:${this.workerOpsPort(w)}/metrics`, { signal: AbortSignal.timeout(5_000) });
      total += sumSamples(await res.text(), metric, labels);
    }
    return total;
  }

  /** Outbox journal segments on disk, in any replica's journal directory (paths under the root). */
  async journalSegments(): Promise<string[]> {
    const entries = await readdir(journalDirectory(join(this.dir, "storage")), { recursive: true }).catch(() => []);
    return entries.filter((path) => /(^|\/)segment-\d+\.jsonl$/.test(path)).sort();
  }

  async destroy(): Promise<void> {
    await this.group.stopAll();
    await this.removeDir();
  }
}

/** Sums every sample of `metric` whose labels include `labels` (Prometheus text format). */
export function sumSamples(text: string, metric: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (!matches) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

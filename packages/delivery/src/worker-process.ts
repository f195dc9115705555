/**
 * The composition root both worker apps share: config, logger, metrics, delivery runtime, ops
 * server, signals. `apps/worker-<type>/src/main.ts` only names its sink factory.
 *
 * Flags: `--config PATH` (or BERTH_CONFIG), `--port N` (ops server port; 0 = any free port),
 * `--grace-ms N` (shutdown grace period).
 */
import { type SinkConfig, type SinkType, configPathFromArgs, loadConfig } from "@berth/config";
import { createLogger, createMetricsRegistry, startOpsServer } from "@berth/telemetry";
import { DEFAULT_SHUTDOWN_GRACE_MS, startDeliveryRuntime } from "./runtime.js";
import type { Sink } from "./sink.js";

export interface WorkerProcessOptions {
  app: string;
  sinkType: SinkType;
  createSink: (sink: SinkConfig) => Sink;
  argv: string[];
  env: Record<string, string | undefined>;
}

/** `--name N` or `--name=N` as a non-negative integer; undefined when absent. */
export function intFlag(argv: readonly string[], name: string): number | undefined {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const arg = argv[i]!;
  const raw = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[i + 1];
  const value = Number(raw);
  if (raw === undefined || raw === "" || !Number.isInteger(value) || value < 0) {
    throw new Error(`${name} needs a non-negative integer, got ${JSON.stringify(raw ?? "")}`);
  }
  return value;
}

/** Runs until SIGTERM/SIGINT, then shuts down in order and exits 0 (1 if startup fails). */
export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  const { app, sinkType } = options;
  let port: number | undefined;
  let graceMs: number;
  let config: Awaited<ReturnType<typeof loadConfig>>["config"];
  let warnings: string[];
  try {
    port = intFlag(options.argv, "--port");
    graceMs = intFlag(options.argv, "--grace-ms") ?? DEFAULT_SHUTDOWN_GRACE_MS;
    const file = configPathFromArgs(options.argv, options.env);
    ({ config, warnings } = await loadConfig({ file, env: options.env }));
  } catch (err) {
    // Before a logger exists: a plain line on stderr, with the config problems if there are any.
    const problems = (err as { problems?: unknown }).problems;
    const detail = Array.isArray(problems) ? `\n  ${problems.join("\n  ")}` : "";
    process.stderr.write(`${app}: ${err instanceof Error ? err.message : String(err)}${detail}\n`);
    process.exit(2);
  }

  const logger = createLogger({ level: config.log.level, output: config.log.output, name: app });
  for (const w of warnings) logger.warn(w);
  const metrics = createMetricsRegistry(app);
  const runtime = await startDeliveryRuntime({ config, sinkType, createSink: options.createSink, logger, metrics });
  const listen = config.workers[sinkType];
  const ops = await startOpsServer({
    address: listen.address,
    port: port ?? listen.port,
    metrics,
    health: () => runtime.health(),
  });
  logger.info({ port: ops.port, address: listen.address, sinks: runtime.sinks }, "worker ready; ops server listening");

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs }, "shutting down");
    // Order: the runtime (stop intake, finish in-flight, close sinks, close Redis), then the ops
    // server, so /healthz reports "closing" until the very end.
    await runtime.close(graceMs);
    await ops.close();
    logger.info("bye");
    logger.flush();
    process.exitCode = 0;
    // Give pino's async destination a moment to write the last lines.
    setTimeout(() => process.exit(0), 50).unref();
  };
  process.once("SIGTERM", (s) => void stop(s));
  process.once("SIGINT", (s) => void stop(s));
}

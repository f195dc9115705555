/**
 * The composition root both worker apps share: config, logger, metrics, delivery runtime, ops
 * server, signals. `apps/worker-<type>/src/main.ts` only names its sink factory.
 *
 * Flags: `--config PATH` (or BERTH_CONFIG), `--port N` (ops server port; 0 = any free port),
 * `--grace-ms N` (shutdown grace period).
 */
import { parseArgs } from "node:util";
import {
  CONFIG_OPTION,
  type SinkConfig,
  type SinkType,
  configPathFrom,
  loadConfig,
  reloadConfigOnSighup,
} from "@berth/config";
import { OpsPortInUseError, catchStopSignals, createLogger, createMetricsRegistry, startOpsServer } from "@berth/telemetry";
import { type DeliveryRuntime, DEFAULT_SHUTDOWN_GRACE_MS, startDeliveryRuntime } from "./runtime.js";
import type { Sink } from "./sink.js";

export interface WorkerProcessOptions {
  app: string;
  sinkType: SinkType;
  createSink: (sink: SinkConfig) => Sink;
  argv: string[];
  env: Record<string, string | undefined>;
}

/** A flag's value as a non-negative integer; undefined when the flag is absent. */
function nonNegativeInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw === "" || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`--${flag} needs a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function parseWorkerArgs(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: { ...CONFIG_OPTION, port: { type: "string" }, "grace-ms": { type: "string" } },
  });
  return {
    configFlag: values.config,
    port: nonNegativeInt("port", values.port),
    graceMs: nonNegativeInt("grace-ms", values["grace-ms"]) ?? DEFAULT_SHUTDOWN_GRACE_MS,
  };
}

/**
 * Before a logger exists: one plain line on stderr, then exit 2. A ConfigError's message already
 * lists each problem once (appending `problems` again printed every one twice).
 */
function exitOnStartupError(app: string, err: unknown): never {
  process.stderr.write(`${app}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

/** Runs until SIGTERM/SIGINT, then shuts down in order and exits 0 (2 if start-up fails). */
export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  const { app, sinkType } = options;
  // First: a signal during start-up waits for it instead of killing the process mid-way.
  const signals = catchStopSignals();
  let flags: ReturnType<typeof parseWorkerArgs>;
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    flags = parseWorkerArgs(options.argv);
    loaded = await loadConfig({ file: configPathFrom(flags.configFlag, options.env), env: options.env });
  } catch (err) {
    exitOnStartupError(app, err);
  }
  const { config, warnings } = loaded;
  const { graceMs } = flags;

  const logger = createLogger({ level: config.log.level, output: config.log.output, name: app });
  for (const w of warnings) logger.warn(w);
  const metrics = createMetricsRegistry(app);
  const listen = config.workers[sinkType];
  let runtime: DeliveryRuntime | undefined;
  // The ops server first: a port problem must stop the process before it takes any job.
  const ops = await startOpsServer({
    address: listen.address,
    port: flags.port ?? listen.port,
    // A port from the config is shared by every worker started with that config: a second worker
    // on the same host takes a free port. A port given with --port is a choice, and must hold.
    fallbackToFreePort: flags.port === undefined,
    metrics,
    health: () => runtime?.health() ?? { ok: false, starting: true },
  }).catch((err: unknown) => {
    if (err instanceof OpsPortInUseError) {
      exitOnStartupError(app, `${err.message}; choose another with --port N (0 = any free port)`);
    }
    throw err;
  });
  if (ops.fellBack) {
    logger.warn(
      { configuredPort: listen.port, port: ops.port },
      `ops port ${listen.port} is in use (another worker on this host?); listening on ${ops.port} instead — set it with --port N`,
    );
  }
  runtime = await startDeliveryRuntime({ config, sinkType, createSink: options.createSink, logger, metrics });
  logger.info({ port: ops.port, address: listen.address, sinks: runtime.sinks }, "worker ready; ops server listening");

  const running = runtime;
  // SIGHUP: the sinks of the new config take effect (sink-set.ts); an invalid config is refused.
  const reloader = reloadConfigOnSighup({
    file: configPathFrom(flags.configFlag, options.env),
    env: options.env,
    current: config,
    logger,
    apply: async (next) => ({ ...(await running.applySinks(next)), sinks: running.sinks }),
  });
  signals.onStop(async (signal) => {
    reloader.stop();
    logger.info({ signal, graceMs }, "shutting down");
    // Order: the runtime (stop intake, finish in-flight, close sinks, close Redis), then the ops
    // server, so /healthz reports "closing" until the very end.
    await running.close(graceMs);
    await ops.close();
    logger.info("bye");
    logger.flush();
    process.exitCode = 0;
    // Give pino's async destination a moment to write the last lines.
    setTimeout(() => process.exit(0), 50).unref();
  });
}

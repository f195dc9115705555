/**
 * Composition root of the dashboard process: config (`--config PATH` / BERTH_CONFIG), logger,
 * Redis connections, auth, the express app, the listener on `dashboard.address`:`dashboard.port`,
 * and an ordered shutdown on SIGTERM/SIGINT.
 */
import type { Server } from "node:http";
import { parseArgs } from "node:util";
import { CONFIG_OPTION, configPathFrom, loadConfig, reloadConfigOnSighup } from "@berth/config";
import { adminConnection, consumerConnection } from "@berth/queue";
import { catchStopSignals, createLogger } from "@berth/telemetry";
import { createDashboardApp } from "./app.js";
import { resolveDashboardAuth } from "./auth-settings.js";

const APP = "berth-dashboard";

async function main(): Promise<void> {
  // First: a signal during start-up waits for it instead of killing the process mid-way.
  const signals = catchStopSignals();
  let file: string | undefined;
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  let auth: Awaited<ReturnType<typeof resolveDashboardAuth>>;
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options: CONFIG_OPTION });
    file = configPathFrom(values.config, process.env);
    loaded = await loadConfig({ file, env: process.env });
    auth = await resolveDashboardAuth(loaded.config.dashboard.auth, loaded.config.http.auth.bcryptWorkers);
  } catch (err) {
    // A ConfigError's message already lists every problem, once.
    process.stderr.write(`${APP}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const { config, warnings } = loaded;
  const logger = createLogger({ level: config.log.level, output: config.log.output, name: APP });
  for (const w of warnings) logger.warn(w);
  if (!auth) logger.warn("dashboard.auth.anonymous is true: anyone who can reach the port can act on the queues");

  const connection = adminConnection(config.queue.redis, APP);
  const consumer = consumerConnection(config.queue.redis, `${APP}-parker`);
  for (const c of [connection, consumer]) c.on("error", (err) => logger.warn({ err: err.message }, "redis connection error"));
  const dashboard = createDashboardApp({ config, connection, consumerConnection: consumer, auth, logger });

  const { address, port } = config.dashboard;
  const server: Server = await new Promise((resolve, reject) => {
    const s = dashboard.app.listen(port, address, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const bound = server.address();
  logger.info({ address, port: typeof bound === "object" && bound ? bound.port : port, readOnly: config.dashboard.auth.readOnly }, "dashboard listening");

  // SIGHUP: boards for the new config's sinks; an invalid config is refused.
  const reloader = reloadConfigOnSighup({
    file,
    env: process.env,
    current: config,
    logger,
    apply: async (next) => ({ added: await dashboard.applySinks(next) }),
  });
  signals.onStop(async (signal) => {
    reloader.stop();
    logger.info({ signal }, "shutting down");
    // Order: stop taking requests, stop the parker and queues, then close Redis.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await dashboard.close();
    await auth?.close?.();
    await Promise.all([connection.quit(), consumer.quit()]);
    logger.info("bye");
    logger.flush();
    setTimeout(() => process.exit(0), 50).unref();
  });
}

await main();

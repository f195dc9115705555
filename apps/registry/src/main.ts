/**
 * Composition root of the registry process: config → logger → metrics → storage → outbox →
 * HTTP server; SIGTERM/SIGINT shut down in order.
 *
 *   berth-registry [--config PATH]      (or BERTH_CONFIG=PATH; other BERTH_* env overrides are
 *                                        applied by @berth/config)
 */
// First: sizes libuv's threadpool before anything uses it.
import "./threadpool.js";
import { ConfigError, configPathFromArgs, loadConfig } from "@berth/config";
import { createEventFactory } from "@berth/events";
import { openOutbox } from "@berth/outbox";
import { StorageRootError, openStorage, sweepTemporaryFiles } from "@berth/storage";
import { createLogger, createMetricsRegistry } from "@berth/telemetry";
import { HtpasswdError, createFailureLimiter, loadHtpasswd } from "@berth/htpasswd";
import { htpasswdAuth } from "./auth/htpasswd-auth.js";
import { createRegistryApp } from "./app.js";

/** How long in-flight requests (uploads) may run on after a stop signal. */
const SHUTDOWN_GRACE_MS = 25_000;

async function main(): Promise<void> {
  const { config, warnings } = await loadConfig({ file: configPathFromArgs(process.argv.slice(2), process.env), env: process.env });
  const logger = createLogger({ level: config.log.level, output: config.log.output, name: "registry" });
  for (const warning of warnings) logger.warn(warning);
  const metrics = createMetricsRegistry("registry");
  const fsyncDirectories = config.storage.fsyncDirectories ?? true;
  const storage = await openStorage(config.storage.rootDirectory, {
    fs: { syncDirectories: fsyncDirectories },
    onBackgroundError: (repository, err) => logger.error({ err, repository }, "could not rewrite index.json (retrying)"),
  });
  if (!fsyncDirectories) logger.warn("storage.fsyncDirectories is false: a power loss can lose pushes the registry acknowledged");
  const { auth } = config.http;
  const htpasswd = auth.htpasswd ? await loadHtpasswd(auth.htpasswd.path, { poolSize: auth.bcryptWorkers }) : undefined;
  const outbox = await openOutbox({ config, logger, metrics });
  const { source, typePrefix } = config.extensions.events;
  const app = createRegistryApp({
    storage,
    publisher: outbox,
    events: createEventFactory({ source, typePrefix }),
    logger,
    metrics,
    ...(htpasswd ? { authenticate: htpasswdAuth(htpasswd, createFailureLimiter(auth.failedAttempts)) } : {}),
    lint: config.extensions.lint,
    health: () => ({ outbox: outbox.status() }),
  });
  await listen(app.server, config.http.port, config.http.address);
  logger.info(
    { address: config.http.address, port: config.http.port, root: config.storage.rootDirectory, auth: htpasswd ? "htpasswd" : "anonymous" },
    "registry listening",
  );
  // In the background: a large root takes a while to walk, and pushes must not wait for it.
  sweepTemporaryFiles(config.storage.rootDirectory).then(
    ({ removed }) => removed.length > 0 && logger.warn({ files: removed.slice(0, 100), count: removed.length }, "removed temp files failed writes left in the storage root"),
    (err: unknown) => logger.error({ err }, "could not sweep temp files from the storage root"),
  );
  app.announceLeftovers().then(
    (names) => names.length > 0 && logger.warn({ repositories: names }, "announced repositories an earlier run created but never announced"),
    (err: unknown) => logger.error({ err }, "could not look for unannounced repositories"),
  );

  // Also in the background: index.json files an earlier run (or a replica that died) left behind
  // their tag logs are redrawn.
  storage.catchUpViews().catch((err: unknown) => logger.error({ err }, "could not check index.json files against their tag logs"));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // Order: stop taking requests and let uploads in flight finish (they may still publish
    // events), draw every index.json that lags its tag log, then close the outbox (flushes its
    // journal/relay), then exit.
    await app.close(SHUTDOWN_GRACE_MS);
    await storage.flushViews().catch((err: unknown) => logger.error({ err }, "could not rewrite index.json at shutdown"));
    await outbox.close();
    await htpasswd?.close();
    logger.info("stopped");
    logger.flush();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

function listen(server: import("node:http").Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") reject(new StartupError(`port ${port} on ${address} is already in use`));
      else if (err.code === "EACCES") reject(new StartupError(`no permission to listen on ${address}:${port}`));
      else reject(err);
    });
    server.listen(port, address, () => resolve());
  });
}

class StartupError extends Error {
  override readonly name = "StartupError";
}

main().catch((err: unknown) => {
  // Start-up errors are for a human reading a terminal: one clear line, no stack.
  if (err instanceof ConfigError) console.error(`registry: invalid configuration:\n  ${err.problems.join("\n  ")}`);
  else if (err instanceof StorageRootError) console.error(`registry: ${err.message}`);
  else if (err instanceof StartupError || err instanceof HtpasswdError) console.error(`registry: ${err.message}`);
  else console.error("registry: failed to start", err);
  process.exit(1);
});

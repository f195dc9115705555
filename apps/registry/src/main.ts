/**
 * Composition root of the registry process: config → logger → metrics → storage → outbox →
 * HTTP server; SIGTERM/SIGINT shut down in order.
 *
 *   berth-registry [--config PATH]      (or BERTH_CONFIG=PATH; other BERTH_* env overrides are
 *                                        applied by @berth/config)
 */
// First: sizes libuv's threadpool before anything uses it.
import "./threadpool.js";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { publicKeyFromPem } from "@berth/access";
import {
  type BearerSettings,
  CONFIG_OPTION,
  ConfigError,
  DEFAULT_GC,
  DEFAULT_UPLOAD_MAX_AGE_MS,
  type LdapSettings,
  type ListenerTls,
  configPathFrom,
  isParseArgsError,
  loadConfig,
  reloadConfigOnSighup,
} from "@berth/config";
import { createEventFactory } from "@berth/events";
import { HtpasswdError, createFailureLimiter, loadHtpasswd } from "@berth/htpasswd";
import { ADD_PATHS, type AddPath, openOutbox } from "@berth/outbox";
import { StorageRootError, openStorage, sweepTemporaryFiles } from "@berth/storage";
import { catchStopSignals, createLogger, createMetricsRegistry } from "@berth/telemetry";
import { createRegistryApp } from "./app.js";
import type { BearerProviderOptions } from "./auth/bearer.js";
import type { LdapProviderOptions } from "./auth/ldap.js";
import type { TlsMaterial } from "./http/listener.js";

/**
 * `pnpm bench --only outbox` only (issue 15): BERTH_BENCH_OUTBOX_ADD_PATH makes the outbox write
 * jobs with one of BullMQ's bulk paths, so the bench compares them with the add-jobs script on
 * real registries. Internal and undocumented for users; anything else is refused.
 */
function benchAddPath(env: NodeJS.ProcessEnv): { addPath?: AddPath } {
  const value = env.BERTH_BENCH_OUTBOX_ADD_PATH;
  if (value === undefined || value === "") return {};
  if (!(ADD_PATHS as readonly string[]).includes(value)) {
    throw new ConfigError([`BERTH_BENCH_OUTBOX_ADD_PATH must be one of ${ADD_PATHS.join(", ")}; got ${JSON.stringify(value)}`]);
  }
  return { addPath: value as AddPath };
}

/** How long in-flight requests (uploads) may run on after a stop signal. */
const SHUTDOWN_GRACE_MS = 25_000;

async function main(): Promise<void> {
  // First: a signal during start-up waits for it instead of killing the process mid-way.
  const signals = catchStopSignals();
  const { values } = parseArgs({ args: process.argv.slice(2), options: CONFIG_OPTION });
  const file = configPathFrom(values.config, process.env);
  const { config, warnings } = await loadConfig({ file, env: process.env });
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
  const tls = config.http.tls ? await readTls(config.http.tls) : undefined;
  const bearer = config.http.auth.bearer ? await loadBearer(config.http.auth.bearer) : undefined;
  const ldap = config.http.auth.ldap ? await ldapOptions(config.http.auth.ldap) : undefined;
  const { accessControl } = config.http;
  const outbox = await openOutbox({ config, logger, metrics, ...benchAddPath(process.env) });
  const { source, typePrefix } = config.extensions.events;
  const app = createRegistryApp({
    storage,
    publisher: outbox,
    events: createEventFactory({ source, typePrefix }),
    logger,
    metrics,
    ...(htpasswd ? { htpasswd } : {}),
    limiter: createFailureLimiter(auth.failedAttempts),
    lint: config.extensions.lint,
    health: () => ({ outbox: outbox.status() }),
    ...(tls ? { tls } : {}),
    ...(bearer ? { bearer } : {}),
    ...(ldap ? { ldap } : {}),
    ...(accessControl ? { accessControl } : {}),
    limits: config.http.limits,
    metricsAuth: config.http.metricsAuth,
    minFreeBytes: config.storage.minFreeBytes,
    maintenance: {
      gc: config.storage.gc ?? DEFAULT_GC,
      uploadMaxAgeMs: config.storage.uploadMaxAgeMs ?? DEFAULT_UPLOAD_MAX_AGE_MS,
    },
  });
  await listen(app.server, config.http.port, config.http.address);
  logger.info(
    {
      address: config.http.address,
      port: config.http.port,
      root: config.storage.rootDirectory,
      auth: [htpasswd && "htpasswd", ldap && "ldap", bearer && "bearer", tls?.ca && "client-certificate"].filter(Boolean).join("+") || "anonymous",
      accessControl: accessControl !== undefined,
      tls: tls ? (tls.ca ? "mutual" : "server") : "off",
    },
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

  // SIGHUP: the outbox routes to the new config's sinks; an invalid config is refused.
  const reloader = reloadConfigOnSighup({
    file,
    env: process.env,
    current: config,
    logger,
    apply(next) {
      const sinks = next.extensions.events.enable ? next.extensions.events.sinks : [];
      if (!outbox.applySinks(sinks)) logger.warn({}, "events were off at start-up: turning them on needs a restart");
      return { sinks: sinks.map((s) => s.name) };
    },
  });
  signals.onStop(async (signal) => {
    reloader.stop();
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
  });
  // Certificate renewal without a restart: SIGHUP re-reads cert, key and CA bundle; a bad file
  // keeps the material in use and says why.
  const tlsFiles = config.http.tls;
  if (tlsFiles) {
    process.on("SIGHUP", () => {
      readTls(tlsFiles)
        .then((material) => app.reloadTls(material))
        .then(
          () => logger.info({ cert: tlsFiles.certFile }, "TLS certificate reloaded"),
          (err: unknown) => logger.error({ err: String(err) }, "TLS certificate not reloaded; the previous one stays in use"),
        );
    });
  }
}

async function ldapOptions(settings: LdapSettings): Promise<LdapProviderOptions> {
  const { caCertFile, skipVerify, ...rest } = settings;
  const ca = caCertFile ? await readFile(caCertFile) : undefined;
  return { ...rest, tls: { rejectUnauthorized: !skipVerify, ...(ca ? { ca } : {}) } };
}

async function loadBearer(settings: BearerSettings): Promise<BearerProviderOptions> {
  try {
    const key = publicKeyFromPem(await readFile(settings.certFile));
    return { realm: settings.realm, service: settings.service, key };
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new StartupError(`http.auth.bearer.cert ${settings.certFile} holds no usable certificate or public key: ${reason}`);
  }
}

async function readTls(files: ListenerTls): Promise<TlsMaterial> {
  const read = async (path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new StartupError(`cannot read TLS file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  };
  const [cert, key, ca] = await Promise.all([read(files.certFile), read(files.keyFile), files.caCertFile ? read(files.caCertFile) : undefined]);
  return { cert, key, ...(ca ? { ca } : {}) };
}

function listen(server: import("node:net").Server, port: number, address: string): Promise<void> {
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
  if (err instanceof ConfigError) {
    // Exit 2, as `berth config check` does for the same file.
    console.error(`registry: invalid configuration:\n  ${err.problems.join("\n  ")}`);
    process.exit(2);
  } else if (err instanceof StorageRootError) console.error(`registry: ${err.message}`);
  else if (err instanceof StartupError || err instanceof HtpasswdError) console.error(`registry: ${err.message}`);
  else if (isParseArgsError(err)) console.error(`registry: ${err.message} (usage: berth-registry [--config PATH])`);
  else console.error("registry: failed to start", err);
  process.exit(1);
});

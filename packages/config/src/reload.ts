/**
 * Hot reload: on SIGHUP — and, with `reload.watch`, when the config file's content changes — a
 * process reads its config file again. A valid new config is handed to
 * the process (which applies what it can: the sinks); an invalid one is refused with every problem
 * reported, and the process keeps running on the config it has. Reloads never overlap: a SIGHUP
 * during a reload is served after it.
 */
import { ConfigError } from "./config-error.js";
import { watchConfigFile } from "./config-file-watch.js";
import { loadConfig } from "./load-config.js";
import type { Env, ParsedConfig as LoadedConfig } from "./parse-config.js";
import type { BerthConfig } from "./types.js";

/** The few logger methods a reload needs (a pino logger has them). */
export interface ReloadLogger {
  info(details: object, msg: string): void;
  warn(details: object, msg: string): void;
  error(details: object, msg: string): void;
}

export interface ConfigReloadOptions {
  file: string | undefined;
  env: Env;
  /** The config the process runs on now. */
  current: BerthConfig;
  logger: ReloadLogger;
  /** Applies a valid new config (what the process can: its sinks); returns details to log. */
  apply(next: BerthConfig): Promise<object> | object;
}

export interface ConfigReloader {
  /** Runs one reload now (what SIGHUP does); resolves when it is done. */
  reload(): Promise<void>;
  stop(): void;
}

/**
 * Logs `config reloaded` (with what `apply` returned), `config reload refused` (with every
 * problem; nothing applied) or `config reload failed`; keys a restart would need are warned about.
 */
export function reloadConfigOnSighup(options: ConfigReloadOptions): ConfigReloader {
  const { logger } = options;
  let current = options.current;
  let queue: Promise<void> = Promise.resolve();
  /** `catchUp`: reload only when the file differs from what the process runs on; a bad file is left to SIGHUP/the watch. */
  const once = async (catchUp = false) => {
    let loaded: LoadedConfig;
    try {
      loaded = await loadConfig({ file: options.file, env: options.env });
    } catch (err) {
      if (catchUp) return;
      if (err instanceof ConfigError) logger.error({ problems: err.problems }, "config reload refused; still running on the previous config");
      else logger.error({ err }, "config reload failed");
      return;
    }
    if (catchUp) {
      if (JSON.stringify(loaded.config) === JSON.stringify(current)) return;
      logger.info({ file: options.file }, "config file changed since start-up; reloading");
    }
    try {
      for (const warning of loaded.warnings) logger.warn({}, warning);
      const restart = changesNeedingRestart(current, loaded.config);
      if (restart.length > 0) logger.warn({ keys: restart }, "config reload: these keys need a restart to take effect");
      const details = await options.apply(loaded.config);
      current = loaded.config;
      logger.info(details, "config reloaded");
    } catch (err) {
      logger.error({ err }, "config reload failed");
    }
  };
  const reload = (catchUp = false) => {
    queue = queue.then(() => once(catchUp));
    return queue;
  };
  const onSignal = () => void reload();
  process.on("SIGHUP", onSignal);
  const watch =
    options.file && current.reload.watch
      ? watchConfigFile({
          file: options.file,
          onChange: () => {
            logger.info({ file: options.file }, "config file changed; reloading");
            void reload();
          },
          onError: (err) => logger.warn({ err: String(err) }, "cannot watch the config file for changes; SIGHUP still reloads it"),
        })
      : undefined;
  // An edit between the process's start-up load and the watch's start produced no event: compare
  // what the file says now with what the process runs on, once (queued like any reload, one read).
  if (watch) void reload(true);
  return {
    reload: () => reload(),
    stop: () => {
      process.off("SIGHUP", onSignal);
      watch?.stop();
    },
  };
}

/**
 * The parts of a config a running process cannot take over without a restart: everything except
 * the sinks list (`extensions.events.sinks`). Returns their paths, for a warning.
 */
export function changesNeedingRestart(before: BerthConfig, after: BerthConfig): string[] {
  const withoutSinks = (c: BerthConfig) => ({ ...c, extensions: { ...c.extensions, events: { ...c.extensions.events, sinks: [] } } });
  const a = withoutSinks(before) as unknown as Record<string, unknown>;
  const b = withoutSinks(after) as unknown as Record<string, unknown>;
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (key === "extensions") {
      const ea = a[key] as Record<string, unknown>;
      const eb = b[key] as Record<string, unknown>;
      for (const sub of new Set([...Object.keys(ea), ...Object.keys(eb)])) {
        if (JSON.stringify(ea[sub]) !== JSON.stringify(eb[sub])) changed.push(`extensions.${sub}`);
      }
    } else if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
      changed.push(key);
    }
  }
  return changed;
}

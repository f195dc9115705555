/**
 * Hot reload: on SIGHUP a process reads its config file again. A valid new config is handed to
 * the process (which applies what it can: the sinks); an invalid one is refused with every problem
 * reported, and the process keeps running on the config it has. Reloads never overlap: a SIGHUP
 * during a reload is served after it.
 */
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./load-config.js";
import type { Env, ParsedConfig as LoadedConfig } from "./parse-config.js";
import type { BerthConfig } from "./types.js";

export interface ConfigReloadOptions {
  file: string | undefined;
  env: Env;
  /** A valid new config; the process applies it. */
  apply(loaded: LoadedConfig): Promise<void> | void;
  /** The new config is invalid (or unreadable): nothing was applied. */
  refused(err: ConfigError): void;
  /** `apply` itself failed. */
  failed(err: unknown): void;
}

export interface ConfigReloader {
  /** Runs one reload now (what SIGHUP does); resolves when it is done. */
  reload(): Promise<void>;
  stop(): void;
}

export function reloadConfigOnSighup(options: ConfigReloadOptions): ConfigReloader {
  let queue: Promise<void> = Promise.resolve();
  const once = async () => {
    let loaded: LoadedConfig;
    try {
      loaded = await loadConfig({ file: options.file, env: options.env });
    } catch (err) {
      if (err instanceof ConfigError) options.refused(err);
      else options.failed(err);
      return;
    }
    try {
      await options.apply(loaded);
    } catch (err) {
      options.failed(err);
    }
  };
  const reload = () => {
    queue = queue.then(once);
    return queue;
  };
  const onSignal = () => void reload();
  process.on("SIGHUP", onSignal);
  return { reload, stop: () => process.off("SIGHUP", onSignal) };
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

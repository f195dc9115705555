/**
 * Which config file a process reads: `--config PATH`, `--config=PATH`, else BERTH_CONFIG.
 */
import { ConfigError } from "./config-error.js";
import type { Env } from "./parse-config.js";

export const CONFIG_ENV = "BERTH_CONFIG";

export function configPathFromArgs(argv: readonly string[], env: Env): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith("--config=")) return nonEmpty(arg.slice("--config=".length));
    if (arg === "--config") return nonEmpty(argv[i + 1]);
  }
  const fromEnv = env[CONFIG_ENV];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

function nonEmpty(path: string | undefined): string {
  if (path === undefined || path === "" || path.startsWith("--")) {
    throw new ConfigError(["--config needs a file path: --config PATH or --config=PATH"]);
  }
  return path;
}

/**
 * Which config file a process reads: its `--config` flag (as `node:util` parseArgs gave it), else
 * BERTH_CONFIG.
 */
import { ConfigError } from "./config-error.js";
import type { Env } from "./parse-config.js";

export const CONFIG_ENV = "BERTH_CONFIG";

/** The parseArgs option every process declares for `--config PATH` / `--config=PATH`. */
export const CONFIG_OPTION = { config: { type: "string" } } as const;

export function configPathFrom(flag: string | undefined, env: Env): string | undefined {
  if (flag !== undefined) {
    if (flag === "") throw new ConfigError(["--config needs a file path: --config PATH or --config=PATH"]);
    return flag;
  }
  const fromEnv = env[CONFIG_ENV];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}

/** A bad command line, as `node:util` parseArgs reports it (unknown option, missing value, …). */
export function isParseArgsError(err: unknown): err is Error & { code: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

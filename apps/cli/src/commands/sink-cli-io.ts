/**
 * What the `berth dlq` and `berth sink` commands share: where output goes, how the config is
 * loaded, the Redis connection, and the documented exit codes (see ../../COMMANDS.md).
 */
import type { BerthConfig } from "@berth/config";
import { configPathFrom, loadConfig } from "@berth/config";
import { adminConnection } from "@berth/queue";
import { type SinkAdminContext, SinkAdminError } from "@berth/sink-admin";

export const EXIT = {
  ok: 0,
  /** The operation ran and failed (Redis unreachable, some dead letters not replayed…). */
  failed: 1,
  /** Bad flags, unknown sink, invalid or missing config. */
  usage: 2,
  /** `sink test`: the delivery failed in a way the worker would retry. */
  wouldRetry: 3,
  /** `sink test`: the delivery failed permanently (the worker would dead-letter it). */
  permanent: 4,
} as const;

export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "USAGE";
}

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Loads and validates the config named by the `--config` flag's value, else `BERTH_CONFIG`. */
  loadConfig(configFlag: string | undefined): Promise<BerthConfig>;
  now(): Date;
}

/** The real thing: stdout/stderr and @berth/config reading `env` (the process's by default). */
export function processIo(env: Record<string, string | undefined> = process.env): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    async loadConfig(configFlag) {
      const { config, warnings } = await loadConfig({ file: configPathFrom(configFlag, env), env });
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      return config;
    },
    now: () => new Date(),
  };
}

/** Runs `fn` with an admin (fail-fast) Redis connection, closed afterwards whatever happens. */
export async function withSinkAdmin<T>(config: BerthConfig, fn: (ctx: SinkAdminContext) => Promise<T>): Promise<T> {
  const connection = adminConnection(config.queue.redis, "berth-cli");
  // ioredis reports connection trouble as events too; the failing command carries the error.
  connection.on("error", () => {});
  try {
    return await fn({ connection, prefix: config.queue.prefix });
  } finally {
    connection.disconnect();
  }
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}

/** Reports `err` on stderr and picks the exit code by error type, never by message text. */
export function reportError(io: CliIo, err: unknown): number {
  if (err instanceof UsageError || err instanceof SinkAdminError || hasCode(err, "BERTH_CONFIG_INVALID")) {
    io.err(`error: ${(err as Error).message}`);
    return EXIT.usage;
  }
  if (hasCode(err, "ERR_PARSE_ARGS_UNKNOWN_OPTION") || hasCode(err, "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")) {
    io.err(`error: ${(err as Error).message}`);
    return EXIT.usage;
  }
  io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.failed;
}

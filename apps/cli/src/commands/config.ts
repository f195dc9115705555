/**
 * `berth config check [FILE] [--config PATH]`: validate a config the way every Berth process
 * does at start-up. Valid: the resolved config with secrets masked on stdout (pipe it to a
 * file), warnings on stderr, exit 0. Invalid: every problem on stderr, exit 2.
 */
import { parseArgs } from "node:util";
import { ConfigError, configPathFrom, formatConfig, isParseArgsError, loadConfig } from "@berth/config";
import { type BerthIo, EXIT_OK, EXIT_USAGE } from "../io.js";

export const CONFIG_USAGE = `usage:
  berth config check [FILE] [--config PATH]

Validates FILE (or --config PATH, or $BERTH_CONFIG) with the environment's BERTH_* overrides,
then prints the resolved config with every secret masked (stdout) and any warnings (stderr).
Exit 0 when valid, 2 when not (every problem is listed).`;

export async function run(argv: string[], io: BerthIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "check") return checkConfig(rest, io);
  if (sub === "--help" || sub === "-h" || sub === "help") {
    io.out(CONFIG_USAGE);
    return EXIT_OK;
  }
  io.err(sub === undefined ? "berth config: missing command" : `berth config: unknown command "${sub}"`);
  io.err(CONFIG_USAGE);
  return EXIT_USAGE;
}

export async function checkConfig(argv: string[], io: BerthIo): Promise<number> {
  let file: string | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(CONFIG_USAGE);
      return EXIT_OK;
    }
    if (positionals.length > 1 || (positionals.length === 1 && values.config !== undefined)) {
      return usageError(io, "give one config file: FILE or --config PATH");
    }
    file = positionals[0] ?? configPathFrom(values.config, io.env);
  } catch (err) {
    if (err instanceof ConfigError || isParseArgsError(err)) return usageError(io, err.message);
    throw err;
  }
  if (file === undefined) return usageError(io, "no config file: berth config check FILE (or --config PATH, or BERTH_CONFIG)");

  try {
    const { config, warnings } = await loadConfig({ file, env: io.env, cwd: io.cwd });
    for (const warning of warnings) io.err(`warning: ${warning}`);
    io.out(formatConfig(config));
    const sinks = config.extensions.events.sinks.length;
    io.err(`config OK: ${file} (${sinks} sink${sinks === 1 ? "" : "s"}, ${warnings.length} warning${warnings.length === 1 ? "" : "s"})`);
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(err.message);
    return EXIT_USAGE;
  }
}

function usageError(io: BerthIo, message: string): number {
  io.err(`berth config check: ${message}`);
  io.err(CONFIG_USAGE);
  return EXIT_USAGE;
}

/**
 * `berth <command> ...`: finds the command group and runs it. Groups are imported on demand,
 * so `berth config check` works without loading the queue clients the other groups need.
 */
import { type BerthIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./io.js";

type Command = (argv: string[], io: BerthIo) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  config: {
    summary: "config check [FILE] [--config PATH]      validate a config, print it with secrets masked",
    load: async () => (await import("./commands/config.js")).run,
  },
  dlq: {
    summary: "dlq list|replay|purge --sink NAME ...     inspect, replay or purge a sink's dead letters",
    // dlq and sink write to the process's stdout/stderr themselves.
    load: async () => {
      const { run } = await import("./commands/dlq.js");
      return (argv) => run(argv);
    },
  },
  events: {
    summary: "events list|replay [--since TIME] ...      read the event log, deliver from it again",
    load: async () => {
      const { run } = await import("./commands/events.js");
      return (argv) => run(argv);
    },
  },
  gc: {
    summary: "gc [--dry-run]                            remove unreferenced blobs, untagged manifests, stale uploads",
    load: async () => (await import("./commands/gc.js")).run,
  },
  sink: {
    summary: "sink pause|resume|test NAME · sink status [NAME]  operate the sinks",
    load: async () => {
      const { run } = await import("./commands/sink.js");
      return (argv) => run(argv);
    },
  },
};

export const USAGE = `usage: berth <command> [args]

commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.summary}`)
  .join("\n")}

Every command reads the config from --config PATH or $BERTH_CONFIG.
\`berth <command> --help\` shows a command's own usage.`;

export async function runBerth(argv: string[], io: BerthIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(USAGE);
    return EXIT_OK;
  }
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    if (name !== undefined) io.err(`berth: unknown command "${name}"`);
    io.err(USAGE);
    return EXIT_USAGE;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (err) {
    io.err(`berth ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT_FAILED;
  }
}

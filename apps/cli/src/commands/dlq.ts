/**
 * `berth dlq list|replay|purge --sink NAME`: read and act on a sink's dead letters.
 * Exit codes: see ../../COMMANDS.md.
 */
import { parseArgs } from "node:util";
import type { BerthConfig, SinkConfig } from "@berth/config";
import { findSink, listDeadLetters, purgeDeadLetters } from "@berth/sink-admin";
import { DEAD_LETTER_HEADER, deadLetterJson, formatDeadLetter } from "./dlq-format.js";
import { runReplay } from "./dlq-replay.js";
import { parseSince } from "./dlq-since.js";
import { type CliIo, EXIT, UsageError, processIo, reportError, withSinkAdmin } from "./sink-cli-io.js";

export const DLQ_USAGE = `usage:
  berth dlq list   --sink NAME [--since TIME] [--type TYPE] [--json] [--config PATH]
  berth dlq replay --sink NAME (--all | --since TIME | --type TYPE) [--config PATH]
  berth dlq purge  --sink NAME [--since TIME] [--type TYPE] [--config PATH]
TIME: 2024-05-01T10:00:00Z, 2024-05-01, or an age: 90s, 30m, 2h, 7d
TYPE: an event kind (image.updated) or full CloudEvent type (zotregistry.image.updated)`;

const OPTIONS = {
  sink: { type: "string" },
  since: { type: "string" },
  type: { type: "string" },
  all: { type: "boolean" },
  json: { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export interface DlqArgs {
  sink: SinkConfig;
  since?: Date;
  type?: string;
  all: boolean;
  json: boolean;
}

export function run(argv: string[]): Promise<number> {
  return runDlq(argv, processIo());
}

export async function runDlq(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    const [action, ...extra] = positionals;
    if (values.help) {
      io.out(DLQ_USAGE);
      return EXIT.ok;
    }
    if (!action || extra.length > 0 || !["list", "replay", "purge"].includes(action)) {
      throw new UsageError(`expected one of list, replay, purge\n${DLQ_USAGE}`);
    }
    if (!values.sink) throw new UsageError(`--sink NAME is required\n${DLQ_USAGE}`);
    const config = await io.loadConfig(values.config);
    const args: DlqArgs = {
      sink: findSink(config, values.sink),
      all: values.all ?? false,
      json: values.json ?? false,
    };
    if (values.since !== undefined) args.since = parseSince(values.since, io.now());
    if (values.type !== undefined) args.type = values.type;
    return await dispatch(action, config, args, io);
  } catch (err) {
    return reportError(io, err);
  }
}

function dispatch(action: string, config: BerthConfig, args: DlqArgs, io: CliIo): Promise<number> {
  if (action === "list") return runList(config, args, io);
  if (action === "replay") return runReplay(config, args, io);
  return runPurge(config, args, io);
}

async function runList(config: BerthConfig, args: DlqArgs, io: CliIo): Promise<number> {
  return withSinkAdmin(config, async (ctx) => {
    let count = 0;
    if (!args.json) io.out(DEAD_LETTER_HEADER);
    const letters = listDeadLetters({
      ...ctx, ...args,
      onMalformed: (id) => io.err(`warning: job ${id} in the dead-letter queue is not a dead letter`),
    });
    for await (const letter of letters) {
      io.out(args.json ? deadLetterJson(letter) : formatDeadLetter(letter));
      count++;
    }
    io.err(`${count} dead letter(s) for sink ${args.sink.name}`);
    return EXIT.ok;
  });
}

async function runPurge(config: BerthConfig, args: DlqArgs, io: CliIo): Promise<number> {
  return withSinkAdmin(config, async (ctx) => {
    const { removed, kept } = await purgeDeadLetters({ ...ctx, ...args });
    io.out(`purged ${removed} dead letter(s) of sink ${args.sink.name}${kept ? `; ${kept} locked and kept` : ""}`);
    return kept > 0 ? EXIT.failed : EXIT.ok;
  });
}

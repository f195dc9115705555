/**
 * `berth sink pause|resume NAME`, `berth sink status`, `berth sink test NAME`.
 * Exit codes: see ../../COMMANDS.md.
 */
import { parseArgs } from "node:util";
import type { BerthConfig } from "@berth/config";
import { openStorage } from "@berth/storage";
import {
  type SinkStatus,
  bootstrapSink,
  configuredSinks,
  findSink,
  pauseSinkByOperator,
  resumeSinkByOperator,
  sinkStatuses,
} from "@berth/sink-admin";
import { type CliIo, EXIT, UsageError, processIo, reportError, withSinkAdmin } from "./sink-cli-io.js";
import { runSinkTest } from "./sink-test.js";

export const SINK_USAGE = `usage:
  berth sink pause NAME [--reason TEXT] [--config PATH]
  berth sink resume NAME [--config PATH]
  berth sink status [NAME] [--json] [--config PATH]
  berth sink test NAME [--config PATH]
  berth sink bootstrap NAME [--config PATH]`;

const OPTIONS = {
  reason: { type: "string" },
  json: { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function run(argv: string[]): Promise<number> {
  return runSink(argv, processIo());
}

export async function runSink(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help) {
      io.out(SINK_USAGE);
      return EXIT.ok;
    }
    const [action, name, ...extra] = positionals;
    const needsName = action === "pause" || action === "resume" || action === "test" || action === "bootstrap";
    if (!action || !["pause", "resume", "status", "test", "bootstrap"].includes(action) || extra.length > 0) {
      throw new UsageError(`expected one of pause, resume, status, test, bootstrap\n${SINK_USAGE}`);
    }
    if (needsName && !name) throw new UsageError(`berth sink ${action} needs a sink NAME\n${SINK_USAGE}`);
    const config = await io.loadConfig(values.config);
    if (action === "test") return await runSinkTest(findSink(config, name!), config, io);
    if (action === "status") return await runStatus(config, name, values.json ?? false, io);
    if (action === "bootstrap") return await runBootstrap(config, name!, io);
    const sink = findSink(config, name!);
    return await withSinkAdmin(config, async (ctx) => {
      if (action === "pause") {
        await pauseSinkByOperator(ctx, sink, values.reason);
        io.out(`sink ${sink.name} paused: workers take no more of its jobs until \`berth sink resume ${sink.name}\``);
      } else {
        await resumeSinkByOperator(ctx, sink);
        io.out(`sink ${sink.name} resumed (breaker reset)`);
      }
      return EXIT.ok;
    });
  } catch (err) {
    return reportError(io, err);
  }
}

const STATUS_HEADER = ["SINK", "TYPE", "WAITING", "ACTIVE", "DELAYED", "FAILED", "DEAD_LETTERS", "STATE", "BREAKER"];

function stateOf(s: SinkStatus): string {
  if (!s.paused) return "running";
  return s.pauseReason ? `paused (${s.pauseReason}${s.pauseDetail ? `: ${s.pauseDetail}` : ""})` : "paused";
}

function breakerOf(s: SinkStatus): string {
  if (s.breaker === "open" && s.breakerOpenUntil) return `open until ${new Date(s.breakerOpenUntil).toISOString()}`;
  return s.consecutiveFailures > 0 ? `${s.breaker} (${s.consecutiveFailures} consecutive failures)` : s.breaker;
}

/** Queues one snapshot `image.updated` per tag in storage for the sink (its filters apply). */
async function runBootstrap(config: BerthConfig, name: string, io: CliIo): Promise<number> {
  const sink = findSink(config, name);
  const storage = await openStorage(config.storage.rootDirectory, { createRoot: false });
  const result = await withSinkAdmin(config, (ctx) => bootstrapSink({ ...ctx, sink, storage, events: config.extensions.events }));
  io.out(`sink ${sink.name}: ${result.queued} snapshot events queued (one per tag, ${result.repositories} repositories)`);
  return EXIT.ok;
}

/** An ordered sink's extra lines: what it holds back, and what a dead letter means for it. */
function orderingLines(s: SinkStatus): string[] {
  const o = s.ordering!;
  const lines = [`ordering: repository; ${o.repositories} repositories with undelivered events, ${o.held} held back behind one`];
  for (const h of o.heads) {
    const tried = h.headAttempts > 0 ? `${h.headAttempts} failed attempts` : "not failed yet";
    lines.push(`held: ${h.repository} waits for sequence ${h.headSequence} (${tried}); ${h.waitingBehind} events behind it`);
  }
  if (s.deadLetters > 0) {
    lines.push(`${s.deadLetters} dead letters: their repositories went on without them; a replay arrives with outoforder=true`);
  }
  return lines;
}

async function runStatus(config: BerthConfig, name: string | undefined, json: boolean, io: CliIo): Promise<number> {
  const sinks = name ? [findSink(config, name)] : configuredSinks(config);
  if (sinks.length === 0) {
    io.err("no sinks configured (extensions.events.sinks is empty)");
    return EXIT.ok;
  }
  const statuses = await withSinkAdmin(config, (ctx) => sinkStatuses(ctx, sinks));
  if (json) {
    for (const s of statuses) io.out(JSON.stringify(s));
    return EXIT.ok;
  }
  io.out(STATUS_HEADER.join("\t"));
  for (const s of statuses) {
    const row = [s.sink, s.type, s.waiting, s.active, s.delayed, s.failed, s.deadLetters, stateOf(s), breakerOf(s)];
    io.out(row.join("\t"));
    if (s.ordering) for (const line of orderingLines(s)) io.out(`  ${line}`);
  }
  return EXIT.ok;
}

/**
 * `berth events list|replay`: the retained event log (extensions.events.log).
 * Exit codes: see ../../COMMANDS.md.
 */
import { parseArgs } from "node:util";
import { type EventLogQuery, findSink, queryEventLog, replayLoggedEvents } from "@berth/sink-admin";
import { StorageRootError, openStorage } from "@berth/storage";
import { parseSince } from "./dlq-since.js";
import { type CliIo, EXIT, UsageError, processIo, reportError, withSinkAdmin } from "./sink-cli-io.js";

export const EVENTS_USAGE = `usage:
  berth events list   [--since TIME] [--repository GLOB]... [--type TYPE] [--json] [--config PATH]
  berth events replay --sink NAME (--since TIME | --from-sequence REPO:N) [--repository GLOB]... [--type TYPE] [--config PATH]
TIME: 2024-05-01T10:00:00Z, 2024-05-01, or an age: 90s, 30m, 2h, 7d
GLOB: a repository name, * within a path segment, ** across segments
TYPE: an event kind (image.updated) or full CloudEvent type (zotregistry.image.updated)
REPO:N: that repository's events from sequence N on`;

const OPTIONS = {
  sink: { type: "string" },
  since: { type: "string" },
  repository: { type: "string", multiple: true },
  type: { type: "string" },
  "from-sequence": { type: "string" },
  json: { type: "boolean" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function run(argv: string[]): Promise<number> {
  return runEvents(argv, processIo());
}

/** `prod/app:12` → repository and sequence; the repository may contain `/` but never `:`. */
export function parseFromSequence(text: string): { repository: string; sequence: number } {
  const at = text.lastIndexOf(":");
  const sequence = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(sequence) || sequence < 1) {
    throw new UsageError(`--from-sequence ${JSON.stringify(text)}: expected REPO:N, e.g. prod/app:12 (N ≥ 1)`);
  }
  return { repository: text.slice(0, at), sequence };
}

export async function runEvents(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
    if (values.help) {
      io.out(EVENTS_USAGE);
      return EXIT.ok;
    }
    const [action, ...extra] = positionals;
    if (!action || extra.length > 0 || !["list", "replay"].includes(action)) {
      throw new UsageError(`expected one of list, replay\n${EVENTS_USAGE}`);
    }
    const query: EventLogQuery = {};
    if (values.since !== undefined) query.sinceMs = parseSince(values.since, io.now()).getTime();
    if (values.repository !== undefined) query.repositories = values.repository;
    if (values.type !== undefined) query.type = values.type;
    if (values["from-sequence"] !== undefined) query.fromSequence = parseFromSequence(values["from-sequence"]);
    if (action === "replay") {
      if (!values.sink) throw new UsageError(`--sink NAME is required\n${EVENTS_USAGE}`);
      if (query.sinceMs === undefined && query.fromSequence === undefined) {
        throw new UsageError(`replay needs --since TIME or --from-sequence REPO:N\n${EVENTS_USAGE}`);
      }
    }
    const config = await io.loadConfig(values.config);
    if (action === "list") {
      return await withSinkAdmin(config, async (ctx) => {
        if (!values.json) io.out(["LOGGED_AT", "SEQUENCE", "TYPE", "REPOSITORY", "REFERENCE", "ID"].join("\t"));
        for await (const { loggedAt, event } of queryEventLog(ctx, query)) {
          if (values.json) io.out(JSON.stringify(event));
          else {
            const row = [new Date(loggedAt).toISOString(), Number(event.sequence ?? 0), event.type, event.data.name, event.data.reference ?? "", event.id];
            io.out(row.join("\t"));
          }
        }
        return EXIT.ok;
      });
    }
    const sink = findSink(config, values.sink!);
    // Manifests the log left out (over events.log.maxManifestBytes) come back from storage.
    // Unreadable there (the CLI runs elsewhere): replayed without them, marked and counted.
    // A thin sink takes no manifest: no storage to open.
    const storage =
      sink.payload === "thin"
        ? undefined
        : await openStorage(config.storage.rootDirectory, { createRoot: false }).catch((err: unknown) => {
            if (err instanceof StorageRootError) return undefined;
            throw err;
          });
    const manifests = storage ? { manifests: storage.manifests } : {};
    const result = await withSinkAdmin(config, (ctx) => replayLoggedEvents({ ...ctx, sink, query, ...manifests }));
    io.out(
      `replayed ${result.replayed} events to sink ${sink.name}` +
        (result.alreadyQueued > 0 ? ` (${result.alreadyQueued} still queued, left as they are)` : ""),
    );
    if (result.manifestsMissing > 0) {
      io.out(
        `${result.manifestsMissing} of them without their manifest (manifestomitted): the event log left it out and ` +
          `${config.storage.rootDirectory} does not hold it; consumers fetch it by digest`,
      );
    }
    return EXIT.ok;
  } catch (err) {
    return reportError(io, err);
  }
}

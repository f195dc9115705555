import type { BerthConfig } from "@berth/config";
import { type ReplayProgress, replayDeadLetters, sinkStatuses } from "@berth/sink-admin";
import type { DlqArgs } from "./dlq.js";
import { type CliIo, EXIT, UsageError, withSinkAdmin } from "./sink-cli-io.js";

const PROGRESS_EVERY = 100;
const PROGRESS_INTERVAL_MS = 1_000;

/** Progress on stderr every 100 dead letters or every second, whichever comes first. */
function progressReporter(io: CliIo) {
  let lastDone = 0;
  let lastAt = io.now().getTime();
  return (p: Readonly<ReplayProgress>) => {
    const now = io.now().getTime();
    if (p.done - lastDone < PROGRESS_EVERY && now - lastAt < PROGRESS_INTERVAL_MS) return;
    lastDone = p.done;
    lastAt = now;
    io.err(`replay: ${p.done}/${p.total} looked at, ${p.replayed} replayed, ${p.alreadyQueued} already queued, ${p.failed} failed`);
  };
}

/** `berth dlq replay`: a replay of everything must be asked for with --all. */
export async function runReplay(config: BerthConfig, args: DlqArgs, io: CliIo): Promise<number> {
  const filtered = args.since !== undefined || args.type !== undefined;
  if (!filtered && !args.all) {
    throw new UsageError("refusing to replay every dead letter without --all (or narrow it with --since / --type)");
  }
  return withSinkAdmin(config, async (ctx) => {
    const [status] = await sinkStatuses(ctx, [args.sink]);
    if (status?.paused) {
      io.err(
        `warning: sink ${args.sink.name} is paused (${status.pauseReason ?? "unknown reason"}); replayed events wait in its queue until \`berth sink resume ${args.sink.name}\``,
      );
    }
    const result = await replayDeadLetters({ ...ctx, ...args, onProgress: progressReporter(io) });
    for (const e of result.errors) io.err(`failed: ${e.message}`);
    io.out(
      `replayed ${result.replayed} dead letter(s) of sink ${args.sink.name} to its queue` +
        ` (${result.alreadyQueued} already queued, ${result.skipped} not matching, ${result.failed} failed and kept)`,
    );
    return result.failed > 0 ? EXIT.failed : EXIT.ok;
  });
}

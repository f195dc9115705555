/**
 * `berth gc [--dry-run] [--config PATH]`: garbage collection and upload expiry on demand, over the
 * storage root of the config, with its gcDelay and uploadMaxAge (whether or not storage.gc is on).
 * Safe while registry replicas serve the root: the work is @berth/storage's, under each
 * repository's lock. One line per removal on stdout, then a summary; progress on stderr.
 */
import { parseArgs } from "node:util";
import { ConfigError, DEFAULT_GC, DEFAULT_UPLOAD_MAX_AGE_MS, configPathFrom, isParseArgsError, loadConfig } from "@berth/config";
import { type CollectedItem, type ExpiredUpload, StorageRootError, openStorage } from "@berth/storage";
import { type BerthIo, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../io.js";

export const GC_USAGE = `usage:
  berth gc [--dry-run] [--config PATH]

Removes, from every repository under storage.rootDirectory, the blobs no kept manifest needs and
the untagged manifests nothing refers to, once older than storage.gcDelay, and the upload
sessions untouched for storage.uploadMaxAge. Registry replicas may keep serving meanwhile.
--dry-run lists what would be removed and removes nothing.`;

/** A progress line at most this often on a long run. */
const PROGRESS_EVERY_MS = 2000;

export async function run(argv: string[], io: BerthIo, now: () => number = Date.now): Promise<number> {
  let dryRun: boolean;
  let file: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { "dry-run": { type: "boolean" }, config: { type: "string" }, help: { type: "boolean", short: "h" } } });
    if (values.help) {
      io.out(GC_USAGE);
      return EXIT_OK;
    }
    dryRun = values["dry-run"] === true;
    file = configPathFrom(values.config, io.env);
  } catch (err) {
    if (err instanceof ConfigError || isParseArgsError(err)) return usageError(io, err.message);
    throw err;
  }
  if (file === undefined) return usageError(io, "no config file: berth gc --config PATH (or BERTH_CONFIG)");
  let config: Awaited<ReturnType<typeof loadConfig>>["config"];
  try {
    ({ config } = await loadConfig({ file, env: io.env, cwd: io.cwd }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(err.message);
    return EXIT_USAGE;
  }
  let storage: Awaited<ReturnType<typeof openStorage>>;
  try {
    storage = await openStorage(config.storage.rootDirectory, { createRoot: false, fs: { syncDirectories: config.storage.fsyncDirectories ?? true } });
  } catch (err) {
    if (!(err instanceof StorageRootError)) throw err;
    io.err(`berth gc: ${err.message}`);
    return EXIT_FAILED;
  }
  const verb = dryRun ? "would remove" : "removed";
  let lastProgress = now();
  const collected = await storage.collectGarbage({
    delayMs: (config.storage.gc ?? DEFAULT_GC).delayMs,
    dryRun,
    onRemoved: (item: CollectedItem) => io.out(`${verb} ${item.kind} ${item.repository}@${item.digest} ${item.bytes} bytes`),
    onProgress(done, total) {
      if (done < total && now() - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now();
        io.err(`berth gc: ${done}/${total} repositories…`);
      }
    },
  });
  for (const { repository, reason } of collected.skipped) io.err(`berth gc: skipped ${repository}: ${reason}`);
  const uploads = await storage.expireUploads({
    maxAgeMs: config.storage.uploadMaxAgeMs ?? DEFAULT_UPLOAD_MAX_AGE_MS,
    dryRun,
    onExpired: (session: ExpiredUpload) => io.out(`${verb} upload ${session.repository}/${session.id} ${session.bytes} bytes`),
  });
  // The drops' index.json redraws, before the process goes (the next registry start would too).
  await storage.flushViews();
  const count = (kind: CollectedItem["kind"]) => collected.removed.filter((i) => i.kind === kind).length;
  const bytes = collected.bytes + uploads.expired.reduce((sum, e) => sum + e.bytes, 0);
  io.out(
    `${dryRun ? "dry run: would remove" : "removed"} ${plural(count("blob"), "blob")}, ${plural(count("manifest"), "manifest")}, ` +
      `${plural(uploads.expired.length, "upload session")} in ${plural(collected.repositories, "repository", "repositories")}; ` +
      `${dryRun ? "would free" : "freed"} ${bytes} bytes`,
  );
  return EXIT_OK;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function usageError(io: BerthIo, message: string): number {
  io.err(`berth gc: ${message}`);
  io.err(GC_USAGE);
  return EXIT_USAGE;
}

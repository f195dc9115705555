/**
 * Notices when a config file's content changes. The directory is watched, not the file: editors
 * save by writing a new file and renaming it over the old one, and Kubernetes updates a mounted
 * ConfigMap by swapping a `..data` symlink beside it — in both cases a watch on the file itself
 * would keep following the old inode. A burst of events is settled for `settleMs`, then the
 * content is hashed: a save that changed nothing (or a touch) triggers nothing.
 */
import { createHash } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

export interface ConfigFileWatchOptions {
  file: string;
  /** Called once per settled change of the file's content. */
  onChange(): void;
  /** Called when watching is impossible or stops working; nothing is watched afterwards. */
  onError(err: unknown): void;
  settleMs?: number;
}

export interface ConfigFileWatch {
  stop(): void;
}

const DEFAULT_SETTLE_MS = 200;

export function watchConfigFile(options: ConfigFileWatchOptions): ConfigFileWatch {
  const file = resolve(options.file);
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  let lastHash = hashOrUndefined(() => readFileSync(file));
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let stopped = false;

  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    watcher?.close();
  };
  const check = async () => {
    timer = undefined;
    // Mid-swap the file can be missing for a moment: the rename that completes it fires again.
    const hash = hashOrUndefined(await readFile(file).catch(() => undefined));
    if (stopped || hash === undefined || hash === lastHash) return;
    lastHash = hash;
    options.onChange();
  };
  try {
    // Not persistent: watching must never keep a stopping process alive.
    watcher = watch(dirname(file), { persistent: false }, () => {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void check(), settleMs);
      timer.unref();
    });
    watcher.on("error", (err) => {
      stop();
      options.onError(err);
    });
  } catch (err) {
    stop();
    options.onError(err);
  }
  return { stop };
}

function hashOrUndefined(content: Buffer | (() => Buffer) | undefined): string | undefined {
  try {
    const bytes = typeof content === "function" ? content() : content;
    return bytes === undefined ? undefined : createHash("sha256").update(bytes).digest("hex");
  } catch {
    return undefined;
  }
}

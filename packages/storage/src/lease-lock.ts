import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { link, mkdir, open, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { dirname } from "node:path";
import { isNotFound } from "./atomic-file.js";
import { KeyedMutex } from "./keyed-mutex.js";

export interface LeaseLockOptions {
  /**
   * A lock whose content and mtime stay unchanged for this long (measured on the waiter's own
   * monotonic clock, so clock skew between machines does not matter) belongs to a holder that
   * died: it is broken. Holders renew the mtime every third of it.
   */
  leaseMs: number;
  /** How long a writer waits for the lock before giving up (the registry answers 503). */
  waitMs: number;
}

const OBSERVE_EVERY_MS = 50;
const MAX_RETRY_MS = 4;

export const DEFAULT_LOCK_OPTIONS: LeaseLockOptions = { leaseMs: 10_000, waitMs: 30_000 };

/** The lock could not be taken in time, or the filesystem holding it failed: nothing was written. */
export class LockUnavailableError extends Error {
  override readonly name = "LockUnavailableError";
  constructor(
    readonly path: string,
    readonly reason: "timeout" | "io",
    options?: { cause?: unknown },
  ) {
    super(reason === "timeout" ? `lock ${path} is held by another writer` : `lock ${path} cannot be taken: filesystem error`, options);
  }
}

/** A held lock: `check` throws when another writer has broken it (our lease lapsed). */
export interface HeldLock {
  check(): Promise<void>;
}

/**
 * Cross-process mutual exclusion through the filesystem every replica shares (local disk, NFS v3+,
 * CephFS: exclusive create is atomic on each). One lock file per key; inside this process the
 * holders of a key take turns through a mutex, so only one of them polls the file.
 */
export class LeaseLocks {
  private readonly local = new KeyedMutex();

  /**
   * `makeDirectory` creates a lock's missing directory (`mkdir -p` by default). The storage passes
   * its durable one: the first lock of a repository creates the repository's directories, and
   * they must survive a power loss like any other acknowledged state.
   */
  constructor(
    readonly options: LeaseLockOptions = DEFAULT_LOCK_OPTIONS,
    private readonly makeDirectory: (dir: string) => Promise<unknown> = (dir) => mkdir(dir, { recursive: true }),
  ) {}

  run<T>(path: string, work: (held: HeldLock) => Promise<T>): Promise<T> {
    return this.local.run(path, async () => {
      const token = await this.acquire(path);
      const acquired = performance.now();
      // No waiter can break a lock it has not seen unchanged for a whole lease, and this one did not
      // exist before `acquired`: until half a lease has passed, it is certainly still ours.
      const surelyOurs = () => performance.now() - acquired < this.options.leaseMs / 2;
      const renew = setInterval(() => void utimes(path, new Date(), new Date()).catch(() => undefined), this.options.leaseMs / 3);
      renew.unref();
      try {
        return await work({ check: () => (surelyOurs() ? Promise.resolve() : this.check(path, token)) });
      } finally {
        clearInterval(renew);
        await this.release(path, token, surelyOurs());
      }
    });
  }

  private async acquire(path: string): Promise<string> {
    const token = leaseToken();
    const deadline = performance.now() + this.options.waitMs;
    let seen: { key: string; since: number } | undefined;
    let observedAt = Number.NEGATIVE_INFINITY;
    let delay = 1;
    for (;;) {
      try {
        const file = await open(path, "wx");
        try {
          await file.writeFile(token);
        } finally {
          await file.close();
        }
        return token;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          await this.makeDirectory(dirname(path)).catch((cause: unknown) => {
            throw new LockUnavailableError(path, "io", { cause });
          });
          continue;
        }
        if (code !== "EEXIST") throw new LockUnavailableError(path, "io", { cause: err });
      }
      // Retrying the create is one cheap call; reading the holder's file (to spot a dead holder)
      // is done only every few tens of ms, so a handover between processes costs at most ~4 ms.
      const now = performance.now();
      if (now - observedAt >= Math.min(OBSERVE_EVERY_MS, this.options.leaseMs / 10)) {
        observedAt = now;
        const held = await observeLease(path);
        if (held && holderProcessGone(held.content)) {
          await breakStaleLease(path, held.content);
          continue;
        }
        if (held) {
          const key = `${held.mtimeMs}\n${held.content}`;
          if (seen?.key !== key) seen = { key, since: now };
          else if (now - seen.since >= this.options.leaseMs) {
            await breakStaleLease(path, held.content);
            seen = undefined;
            continue;
          }
        }
      }
      if (now >= deadline) throw new LockUnavailableError(path, "timeout");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }

  private async check(path: string, token: string): Promise<void> {
    const content = await readFile(path, "utf8").catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw new LockUnavailableError(path, "io", { cause: err });
    });
    if (content !== token) throw new LockUnavailableError(path, "timeout");
  }

  private async release(path: string, token: string, surelyOurs: boolean): Promise<void> {
    try {
      // Never remove a lock another writer took after breaking ours.
      if (surelyOurs || (await readFile(path, "utf8")) === token) await unlink(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** A lock file's content and mtime, or undefined when there is none. */
export async function observeLease(path: string): Promise<{ content: string; mtimeMs: number } | undefined> {
  try {
    const [info, content] = await Promise.all([stat(path), readFile(path, "utf8")]);
    return { content, mtimeMs: info.mtimeMs };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new LockUnavailableError(path, "io", { cause: err });
  }
}

/**
 * Breaks a lock whose holder stopped renewing it. Rename (atomic, so only one breaker wins) and
 * verify: if the renamed file is not the stale lock (it was broken and re-taken in between), it
 * is put back unless a newer lock exists already.
 */
export async function breakStaleLease(path: string, staleContent: string): Promise<void> {
  const aside = `${path}.${randomBytes(6).toString("hex")}.broken`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (isNotFound(err)) return;
    throw new LockUnavailableError(path, "io", { cause: err });
  }
  try {
    if ((await readFile(aside, "utf8")) !== staleContent) {
      await link(aside, path).catch(() => undefined);
    }
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/** What a holder writes into its lock file: this process (host:pid) and a unique id. */
export function leaseToken(): string {
  return JSON.stringify({ owner: `${hostname()}:${process.pid}`, id: randomBytes(9).toString("hex"), at: new Date().toISOString() });
}

/** A holder on this machine whose process is gone (a SIGKILLed replica): no need to wait a lease. */
export function holderProcessGone(content: string): boolean {
  let owner: unknown;
  try {
    owner = (JSON.parse(content) as { owner?: unknown }).owner;
  } catch {
    return false;
  }
  if (typeof owner !== "string") return false;
  const at = owner.lastIndexOf(":");
  const pid = Number(owner.slice(at + 1));
  if (owner.slice(0, at) !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import bcrypt from "bcryptjs";
import { type BcryptPool, createBcryptPool } from "./bcrypt-pool.js";
import { HtpasswdError, parseHtpasswd } from "./htpasswd-file.js";

export interface HtpasswdOptions {
  /** Where bcrypt runs; by default a pool of its own of `poolSize` threads, closed by `close()`. */
  pool?: BcryptPool;
  poolSize?: number;
  /** How long a verified user + password is remembered (default 5 min). */
  rememberMs?: number;
  now?: () => number;
}

export interface Htpasswd {
  readonly userCount: number;
  /**
   * Whether the password is the user's. Costs one bcrypt compare on the pool whether the user
   * exists or not (an unknown user is checked against a dummy hash of the file's highest cost),
   * so the answer time does not tell which users exist. Successes are remembered (see
   * `remembers`); failures never are. `signal`: the caller left; a check still waiting for a
   * thread is dropped (PasswordCheckAbandoned).
   */
  verify(user: string, password: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * True when this user + password was verified within `rememberMs`: answered without bcrypt, so
   * clients that send Basic credentials on every request (docker, skopeo, Bull Board's polling)
   * are not throttled by it.
   */
  remembers(user: string, password: string): boolean;
  close(): Promise<void>;
}

const REMEMBER_MS = 5 * 60_000;
/** Bounds the memory of remembered logins; past it the oldest are forgotten first. */
const MAX_REMEMBERED = 10_000;

/** Reads and parses an htpasswd file; HtpasswdError names the file (and line) when it is unusable. */
export async function loadHtpasswd(path: string, options: HtpasswdOptions = {}): Promise<Htpasswd> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new HtpasswdError(`cannot read htpasswd file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return createHtpasswd(text, path, options);
}

export async function createHtpasswd(text: string, source: string, options: HtpasswdOptions = {}): Promise<Htpasswd> {
  const { users, maxCost } = parseHtpasswd(text, source);
  // A random password nobody knows; hashed without blocking (bcryptjs's async hash yields).
  const dummyHash = await bcrypt.hash(randomBytes(18).toString("base64"), maxCost);
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? createBcryptPool(options.poolSize === undefined ? {} : { size: options.poolSize });
  const rememberMs = options.rememberMs ?? REMEMBER_MS;
  const now = options.now ?? Date.now;
  /** key → expiry; Map keeps insertion order, so the first key is the oldest. */
  const remembered = new Map<string, number>();

  // The key carries the stored hash, so an entry never outlives a changed file; the password
  // itself is never kept.
  const keyOf = (user: string, password: string, hash: string) =>
    createHash("sha256").update(user).update("\0").update(password).update("\0").update(hash).digest("base64");

  function remembers(user: string, password: string): boolean {
    const hash = users.get(user);
    // An unknown user costs the same hash and lookup, and is never found.
    const key = keyOf(user, password, hash ?? dummyHash);
    const until = hash === undefined ? undefined : remembered.get(key);
    if (until === undefined) return false;
    if (until > now()) return true;
    remembered.delete(key);
    return false;
  }

  return {
    userCount: users.size,
    remembers,
    async verify(user, password, signal) {
      if (remembers(user, password)) return true;
      const hash = users.get(user);
      const ok = await pool.compare(password, hash ?? dummyHash, signal);
      if (!ok || hash === undefined) return false;
      const key = keyOf(user, password, hash);
      remembered.delete(key);
      if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value as string);
      remembered.set(key, now() + rememberMs);
      return true;
    },
    async close() {
      if (ownPool) await pool.close();
    },
  };
}

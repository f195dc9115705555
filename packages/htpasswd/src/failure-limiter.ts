/**
 * Counts failed logins per client address in fixed windows. Once an address reaches `limit`
 * failures within `windowMs`, further attempts that would need a password check are refused
 * until the window ends: the caller answers 429 with `Retry-After: retryAfterSeconds(address)`.
 * Bounded memory: at most `maxAddresses` are tracked; past that the oldest window is forgotten.
 */
export interface FailureLimiterOptions {
  /** Failed attempts allowed per address and window. */
  limit: number;
  windowMs: number;
  maxAddresses?: number;
  now?: () => number;
}

export interface FailureLimiter {
  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number;
  /** Counts one failed attempt of `address`. */
  recordFailure(address: string): void;
}

interface Window {
  startedAt: number;
  failures: number;
}

const MAX_ADDRESSES = 100_000;

export function createFailureLimiter(options: FailureLimiterOptions): FailureLimiter {
  const { limit, windowMs } = options;
  const maxAddresses = options.maxAddresses ?? MAX_ADDRESSES;
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();

  function current(address: string): Window | undefined {
    const w = windows.get(address);
    if (w && now() - w.startedAt >= windowMs) {
      windows.delete(address);
      return undefined;
    }
    return w;
  }

  return {
    retryAfterSeconds(address) {
      const w = current(address);
      if (!w || w.failures < limit) return 0;
      return Math.max(1, Math.ceil((w.startedAt + windowMs - now()) / 1000));
    },
    recordFailure(address) {
      const w = current(address);
      if (w) {
        w.failures++;
        return;
      }
      if (windows.size >= maxAddresses) windows.delete(windows.keys().next().value as string);
      windows.set(address, { startedAt: now(), failures: 1 });
    },
  };
}

/**
 * A byte budget for request bodies read into memory (manifests). Each reader reserves its
 * declared size (or the route's limit when chunked) before reading, and gives it back when its
 * response is done; readers beyond the budget wait in line, their bytes left in the socket, where
 * TCP backpressure holds them at no cost to the registry. Peak memory so follows the budget, not
 * the number of concurrent PUTs (issue 16: 50 × 4 MiB PUTs took the registry to 1.2 GB).
 */
export class MemoryBudget {
  private available: number;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly limit: number) {
    this.available = limit;
  }

  /**
   * Resolves with a release function once `bytes` are reserved (a reservation larger than the
   * whole budget takes all of it); rejects with the signal's reason if it aborts while waiting.
   */
  reserve(bytes: number, signal: AbortSignal): Promise<() => void> {
    const amount = Math.min(bytes, this.limit);
    if (this.waiting.length === 0 && amount <= this.available) {
      this.available -= amount;
      return Promise.resolve(this.releaser(amount));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        bytes: amount,
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(this.releaser(amount));
        },
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        this.grantWaiting();
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  /** Bytes reserved right now (for tests and metrics). */
  inUse(): number {
    return this.limit - this.available;
  }

  private releaser(amount: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.available += amount;
      this.grantWaiting();
    };
  }

  /** First come, first served: a large waiter is not overtaken by small ones forever. */
  private grantWaiting(): void {
    for (let head = this.waiting[0]; head && head.bytes <= this.available; head = this.waiting[0]) {
      this.waiting.shift();
      this.available -= head.bytes;
      head.grant();
    }
  }
}

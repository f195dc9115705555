/** What a receiver saw of one run: when each expected event id first arrived (performance.now()). */
import type { Spawned } from "./spawn-app.js";
import { waitWhileAlive } from "./wait-http.js";

export class ArrivalLog {
  readonly arrivals = new Map<string, number>();
  duplicates = 0;
  private onFirst: (() => void) | undefined;

  constructor(private readonly expected: ReadonlySet<string>) {}

  record(id: string | undefined): void {
    if (id === undefined || !this.expected.has(id)) return;
    if (this.arrivals.has(id)) {
      this.duplicates++;
      return;
    }
    this.arrivals.set(id, performance.now());
    const wake = this.onFirst;
    this.onFirst = undefined;
    wake?.();
  }

  /** Resolves at the next first arrival of an expected id (one waiter at a time). */
  nextArrival(): Promise<void> {
    return new Promise((resolve) => {
      this.onFirst = resolve;
    });
  }

  /**
   * Steady-state rate: arrivals between the 10th and the 90th percentile of arrival times, per
   * second, so neither the workers' first jobs (connections, JIT) nor the drain of the last few
   * decide the figure.
   */
  steadyRate(): number {
    const times = [...this.arrivals.values()].sort((a, b) => a - b);
    const lo = Math.floor(times.length * 0.1);
    const hi = Math.ceil(times.length * 0.9) - 1;
    if (hi <= lo) return Number.NaN;
    return ((hi - lo) * 1000) / (times[hi]! - times[lo]!);
  }

  get complete(): boolean {
    return this.arrivals.size >= this.expected.size;
  }

  /** Waits until every expected id arrived; fails at once if a delivering process dies. */
  waitAll(what: string, procs: readonly Spawned[], timeoutMs: number): Promise<void> {
    return waitWhileAlive(`${what} (${this.arrivals.size}/${this.expected.size} arrived)`, procs, () => this.complete, timeoutMs);
  }
}

/** Where receivers report arrivals: the log of the run in progress, if any. */
export interface Receiver {
  log: ArrivalLog | undefined;
  close(): Promise<void>;
}

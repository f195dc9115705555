/** What a receiver saw of one run: when each expected event id first arrived (performance.now()). */
import type { Spawned } from "./spawn-app.js";
import { waitWhileAlive } from "./wait-http.js";

export class ArrivalLog {
  readonly arrivals = new Map<string, number>();
  duplicates = 0;
  lastAt = 0;

  constructor(private readonly expected: ReadonlySet<string>) {}

  record(id: string | undefined): void {
    if (id === undefined || !this.expected.has(id)) return;
    if (this.arrivals.has(id)) {
      this.duplicates++;
      return;
    }
    const now = performance.now();
    this.arrivals.set(id, now);
    this.lastAt = now;
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

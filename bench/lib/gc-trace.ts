/**
 * Garbage collections of a process started with `--trace-gc-nvp`, read from its output: one line
 * per GC with `gc=s` (scavenge), `gc=mc` / `gc=mmc` (mark-compact), `pause=` (ms) and `allocated=`
 * (bytes allocated since the previous GC). Counts, not timings: they do not depend on the load of
 * the machine, so they compare two processes fairly on a busy host.
 */
import type { Spawned } from "./spawn-app.js";

export const GC_TRACE_FLAGS = ["--trace-gc-nvp"] as const;

export interface GcCounts {
  scavenges: number;
  markCompacts: number;
  allocatedBytes: number;
  pauseMs: number;
}

export class GcTrace {
  private partial = "";
  private counting = false;
  counts: GcCounts = { scavenges: 0, markCompacts: 0, allocatedBytes: 0, pauseMs: 0 };

  constructor(proc: Spawned) {
    proc.onOutput((text) => {
      const lines = (this.partial + text).split("\n");
      this.partial = lines.pop() ?? "";
      if (this.counting) for (const line of lines) this.add(line);
    });
  }

  /** Counts from now on, from zero. */
  start(): void {
    this.counts = { scavenges: 0, markCompacts: 0, allocatedBytes: 0, pauseMs: 0 };
    this.counting = true;
  }

  stop(): GcCounts {
    this.counting = false;
    return this.counts;
  }

  private add(line: string): void {
    const kind = / gc=(\w+)/.exec(line)?.[1];
    if (kind === undefined) return;
    if (kind === "s") this.counts.scavenges++;
    else this.counts.markCompacts++;
    this.counts.allocatedBytes += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0);
    this.counts.pauseMs += Number(/ pause=([\d.]+)/.exec(line)?.[1] ?? 0);
  }
}

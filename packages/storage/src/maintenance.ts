import type { CollectResult } from "./garbage-collector.js";
import type { Storage } from "./storage.js";
import type { ExpireResult } from "./upload-store.js";

export interface MaintenanceOptions {
  /** zot's storage.gc / gcDelay / gcInterval: collect every `intervalMs` when `enable`. */
  gc: { enable: boolean; delayMs: number; intervalMs: number };
  /** Upload sessions untouched this long are removed, swept every min(1 h, half of it) (at least 1 s). */
  uploadMaxAgeMs: number;
  onCollected?: (result: CollectResult) => void;
  onExpired?: (result: ExpireResult) => void;
  onError?: (task: "gc" | "uploads", err: unknown) => void;
}

export interface Maintenance {
  /** No new run starts; resolves once the one in progress (if any) is done. */
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;

/** How often sessions are swept: one that just turned stale waits at most half its age again. */
export function uploadSweepIntervalMs(maxAgeMs: number): number {
  return Math.max(1000, Math.min(HOUR_MS, Math.floor(maxAgeMs / 2)));
}

/**
 * A registry process's background storage work: upload expiry always (first right away, so the
 * open-sessions gauge is true from the start), garbage collection every gcInterval when on. Runs
 * never overlap within a process; across replicas they need not be coordinated (each repository's
 * collection takes its lock, and a second collector finds nothing left to do).
 */
export function startMaintenance(storage: Storage, options: MaintenanceOptions): Maintenance {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const timers = new Map<string, NodeJS.Timeout>();
  const schedule = (task: "gc" | "uploads", everyMs: number, firstMs: number, work: () => Promise<void>) => {
    const tick = () => {
      if (stopped) return;
      running = running
        .then(work)
        .catch((err: unknown) => options.onError?.(task, err))
        .finally(() => {
          if (stopped) return;
          const timer = setTimeout(tick, everyMs);
          timer.unref();
          timers.set(task, timer);
        });
    };
    const first = setTimeout(tick, firstMs);
    first.unref();
    timers.set(task, first);
  };
  schedule("uploads", uploadSweepIntervalMs(options.uploadMaxAgeMs), 0, async () => {
    const result = await storage.expireUploads({ maxAgeMs: options.uploadMaxAgeMs });
    options.onExpired?.(result);
  });
  if (options.gc.enable) {
    schedule("gc", options.gc.intervalMs, options.gc.intervalMs, async () => {
      const result = await storage.collectGarbage({ delayMs: options.gc.delayMs });
      options.onCollected?.(result);
    });
  }
  return {
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      await running;
    },
  };
}

import type { CollectResult, ExpireResult, Storage } from "@berth/storage";
import { Counter, Gauge, type Registry } from "@berth/telemetry";

/** Prometheus series of the storage's background work: open upload sessions, what gc and expiry removed. */
export interface StorageMetrics {
  collected(result: CollectResult): void;
  expired(result: ExpireResult): void;
}

export function createStorageMetrics(registry: Registry, storage: Storage): StorageMetrics {
  new Gauge({
    name: "berth_registry_upload_sessions_open",
    help: "Upload sessions open under the storage root: counted by this replica's last expiry sweep, plus the sessions it opened and minus those it closed since",
    registers: [registry],
    collect() {
      this.set(storage.uploads.openSessions());
    },
  });
  const removed = new Counter({
    name: "berth_registry_storage_removed_total",
    help: "What this replica's garbage collection and upload expiry removed, by kind: blob, manifest (untagged, needed by nothing), upload (expired session)",
    labelNames: ["kind"],
    registers: [registry],
  });
  const freed = new Counter({
    name: "berth_registry_storage_freed_bytes_total",
    help: "Bytes this replica's garbage collection and upload expiry freed",
    registers: [registry],
  });
  const runs = new Counter({
    name: "berth_registry_gc_runs_total",
    help: "Garbage collection runs this replica completed",
    registers: [registry],
  });
  for (const kind of ["blob", "manifest", "upload"]) removed.inc({ kind }, 0);
  return {
    collected(result) {
      runs.inc();
      for (const item of result.removed) removed.inc({ kind: item.kind });
      freed.inc(result.bytes);
    },
    expired(result) {
      removed.inc({ kind: "upload" }, result.expired.length);
      freed.inc(result.expired.reduce((sum, e) => sum + e.bytes, 0));
    },
  };
}

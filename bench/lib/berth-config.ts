/**
 * Config files for the Berth processes the bench starts, in the documented file format
 * (the same keys as deploy/config.json), written into the case's temp dir.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface BenchSink {
  name: string;
  type: "http" | "nats";
  address: string;
  channel?: string;
  jetstream?: boolean;
  concurrency: number;
  /** The sink's `breaker` block as written in the file (e.g. `{ cooldown: "2s" }`). */
  breaker?: Record<string, unknown>;
  ordering?: "none" | "repository";
}

export interface BenchConfigOptions {
  dir: string;
  /** File name inside `dir`. */
  file?: string;
  registryPort?: number;
  redisUrl: string;
  prefix: string;
  events: boolean;
  sinks: readonly BenchSink[];
  workerHttpPort?: number;
  workerNatsPort?: number;
  dashboardPort?: number;
  /** storage.fsyncDirectories (default true): false only for the durability case's "before" side. */
  fsyncDirectories?: boolean;
  /** A storage root shared with other registry processes (replicas); default `<dir>/storage`. */
  rootDirectory?: string;
  /** Extra registry `http` keys (limits). */
  http?: Record<string, unknown>;
}

export function rawBerthConfig(o: BenchConfigOptions): Record<string, unknown> {
  return {
    distSpecVersion: "1.1.1",
    storage: { rootDirectory: o.rootDirectory ?? join(o.dir, "storage"), ...(o.fsyncDirectories === false ? { fsyncDirectories: false } : {}) },
    http: { address: "127.0.0.1", port: o.registryPort ?? 0, ...o.http },
    // Logging as a deployment would (warn), so neither side pays for per-request log lines.
    log: { level: "warn" },
    extensions: {
      events: {
        enable: o.events,
        sinks: o.sinks.map((s) => ({
          name: s.name,
          type: s.type,
          address: s.address,
          timeout: "5s",
          concurrency: s.concurrency,
          ...(s.channel ? { channel: s.channel } : {}),
          ...(s.jetstream ? { jetstream: true } : {}),
          ...(s.breaker ? { breaker: s.breaker } : {}),
          ...(s.ordering ? { ordering: s.ordering } : {}),
        })),
      },
    },
    queue: { redis: o.redisUrl, prefix: o.prefix },
    dashboard: {
      address: "127.0.0.1",
      port: o.dashboardPort ?? 0,
      auth: { anonymous: true, readOnly: true },
    },
    workers: {
      http: { address: "127.0.0.1", port: o.workerHttpPort ?? 0 },
      nats: { address: "127.0.0.1", port: o.workerNatsPort ?? 0 },
    },
  };
}

export async function writeBerthConfig(o: BenchConfigOptions): Promise<string> {
  const path = join(o.dir, o.file ?? "config.json");
  await writeFile(path, `${JSON.stringify(rawBerthConfig(o), null, 2)}\n`);
  return path;
}

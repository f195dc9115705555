/**
 * What a sink package gives the shared contract suite: its sink wired to a real destination that
 * the test controls, and a way to read what arrived there.
 */
import type { SinkConfig } from "@berth/config";
import type { Sink } from "@berth/delivery";

/**
 * healthy: accepts; transient: refuses in a way the sink must classify as transient (HTTP 503,
 * server unreachable…); permanent: refuses for good (HTTP 400, no stream…); hang: accepts the
 * connection and never answers; slow: accepts after a noticeable delay (a few hundred ms).
 */
export type DestinationMode = "healthy" | "transient" | "permanent" | "hang" | "slow";

export interface SinkHarness {
  /** Modes this destination can play; cases needing another one are skipped. */
  readonly modes: readonly DestinationMode[];
  /** A resolved sink of this type pointing at the destination; the suite overrides name, retry… */
  sinkConfig(overrides?: Partial<SinkConfig>): SinkConfig;
  /**
   * The same sink as it would be written in a config file (zot spelling: `type`, `address`,
   * `credentials`, `channel`…), without `name`/`retry`/`timeout`/`breaker`, which the suite adds.
   */
  rawSinkConfig(): Record<string, unknown>;
  createSink(sink: SinkConfig): Sink;
  setMode(mode: DestinationMode): void;
  /** Ids of the events the destination accepted, in arrival order, duplicates kept. */
  received(): Promise<string[]>;
  close(): Promise<void>;
}

export interface SinkContractOptions {
  /** Shown in test names, e.g. "http". */
  name: string;
  /** A fresh destination per test file section; closed by the suite. */
  makeHarness: () => Promise<SinkHarness>;
  /** Redis for the runtime cases; defaults to the shared one. */
  redisUrl?: string;
  /**
   * The worker app's `main.ts` (absolute path), for the process cases (SIGKILL / SIGTERM with
   * spawned worker processes). Omit to skip them.
   */
  workerMain?: string;
  /** Events of the SIGKILL case (default 2,000). */
  killEvents?: number;
}

/**
 * The delivery contract every sink type runs (STYLE habit 11): `runSinkContract` registers
 * node:test suites for the sink alone, the sink inside the delivery runtime, and (with
 * `workerMain`) real worker processes killed and stopped mid-load.
 */
import type { SinkContractOptions } from "./harness.js";
import { processCases } from "./process-cases.js";
import { runtimeCases } from "./runtime-cases.js";
import { sinkCases } from "./sink-cases.js";

export type { DestinationMode, SinkContractOptions, SinkHarness } from "./harness.js";
export { configWithSink, deleteKeysByPrefix, enqueue, heldAttempts, readDeadLetters, sampleEvent } from "./fixtures.js";
export { type WorkerProcess, spawnWorker, writeConfigFile } from "./worker-processes.js";

export function runSinkContract(options: SinkContractOptions): void {
  sinkCases(options);
  runtimeCases(options);
  processCases(options);
}

export * from "./sink.js";
export * from "./delivery-errors.js";
export { backoffCeilingMs, retryDelayMs, createBackoffStrategy } from "./retry-policy.js";
export { type AttemptFailure, classifyFailure } from "./attempt-failure.js";
export { PARK_MS, promoteDelayedJob } from "./ordered-gate.js";
export { LOCK_DURATION_MS, STALLED_INTERVAL_MS, MAX_STALLED_COUNT } from "./sink-runner.js";
export {
  type DeliveryRuntime,
  type DeliveryRuntimeOptions,
  DEFAULT_SHUTDOWN_GRACE_MS,
  startDeliveryRuntime,
} from "./runtime.js";
export { type WorkerProcessOptions, runWorkerProcess } from "./worker-process.js";

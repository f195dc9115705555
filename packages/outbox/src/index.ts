export * from "./outbox.js";
export {
  DEFAULT_ENQUEUE_TIMEOUT_MS,
  DEFAULT_JOURNAL_SEGMENT_BYTES,
  OutboxClosedError,
  type OpenOutboxOptions,
  openOutbox,
} from "./open-outbox.js";
export { JOURNAL_DIRECTORY, journalDirectory } from "./journal.js";
export { createSinkFilter, type SinkFilter } from "./sink-filter.js";
export { createJobRouter, type DeliveryJob, type JobRouter, type QueueBatch } from "./job-router.js";
export { ADD_PATHS, type AddPath } from "./bulk-add-paths.js";

/** Operator-action failures, matched by class (and `code`), never by message text. */
export abstract class SinkAdminError extends Error {
  abstract readonly code: string;
}

/** The operator named a sink the configuration does not have. */
export class UnknownSinkError extends SinkAdminError {
  override readonly name = "UnknownSinkError";
  readonly code = "UNKNOWN_SINK";
  readonly sink: string;
  readonly known: readonly string[];

  constructor(sink: string, known: readonly string[]) {
    const list = known.length > 0 ? known.join(", ") : "none configured";
    super(`unknown sink "${sink}" (configured sinks: ${list})`);
    this.sink = sink;
    this.known = known;
  }
}

/** A dead letter could not be moved back to its sink queue; it stays in the dead-letter queue. */
export class ReplayError extends SinkAdminError {
  override readonly name = "ReplayError";
  readonly code = "REPLAY_FAILED";
  readonly jobId: string;

  constructor(jobId: string, message: string, options?: ErrorOptions) {
    super(`dead letter ${jobId}: ${message}`, options);
    this.jobId = jobId;
  }
}

/** The dead letter does not exist (already replayed, purged, or never there). */
export class DeadLetterNotFoundError extends SinkAdminError {
  override readonly name = "DeadLetterNotFoundError";
  readonly code = "DEAD_LETTER_NOT_FOUND";
  readonly jobId: string;

  constructor(jobId: string) {
    super(`dead letter ${jobId} not found`);
    this.jobId = jobId;
  }
}

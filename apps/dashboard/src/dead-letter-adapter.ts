import type { SinkConfig } from "@berth/config";
import type { DeadLetterJobData } from "@berth/queue";
import { type SinkQueues, replayDeadLetter } from "@berth/sink-admin";
import type { JobStatus, QueueAdapterOptions } from "@bull-board/api/dist/types.js";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import type { Job } from "bullmq";

/**
 * Bull Board over a sink's dead-letter queue, where "Retry" means "replay": instead of re-running
 * the job in the dead-letter queue (nothing there would deliver it), the original event is moved
 * back to the sink's queue with its event id and job id (`replayDeadLetter`), then the dead letter
 * is removed. Retry all goes through the same path, job by job.
 */
export class DeadLetterQueueAdapter extends BullMQAdapter {
  readonly #queues: SinkQueues;
  readonly #sink: SinkConfig;

  constructor(queues: SinkQueues, sink: SinkConfig, options: Partial<QueueAdapterOptions>) {
    super(queues.dead, options);
    this.#queues = queues;
    this.#sink = sink;
  }

  #replayable(job: Job<DeadLetterJobData>): Job<DeadLetterJobData> {
    const queues = this.#queues;
    const sink = this.#sink;
    // An own property shadows Job.prototype.retry for this instance only.
    Object.defineProperty(job, "retry", {
      value: async () => {
        await replayDeadLetter(queues, sink, job);
      },
      enumerable: false,
    });
    return job;
  }

  override async getJob(id: string) {
    const job = await this.#queues.dead.getJob(id);
    return job ? this.#replayable(job) : job;
  }

  override async getJobs(jobStatuses: JobStatus[], start?: number, end?: number) {
    // BullMQAdapter lists the BullMQ Jobs of the queue it was given (typed as Bull Board's QueueJob).
    const jobs = (await super.getJobs(jobStatuses, start, end)) as unknown as Job<DeadLetterJobData>[];
    return jobs.map((job) => this.#replayable(job));
  }
}

import type { BerthEvent, EventFactory, EventPublisher, EventSubject, RequestContext } from "@berth/events";
import type { Logger } from "@berth/telemetry";

/**
 * The registry's success boundary for events: handlers call these after the store has committed
 * and before answering, so the client's 2xx means the event is durable (the outbox's promise).
 * Data fields are zot's (`pkg/extensions/events/events.go`): repository.created carries `name`; image.updated and image.lint_failed carry `manifest` (the body as a string);
 * image.deleted has no manifest.
 */
export class RegistryEvents {
  constructor(
    private readonly factory: EventFactory,
    private readonly publisher: EventPublisher,
    private readonly log: Logger,
  ) {}

  /** Triggered by a request (the push that created it), so actor/request are included. */
  repositoryCreated(name: string, context: RequestContext): BerthEvent {
    return this.factory.build("repository.created", { name }, context);
  }

  imageUpdated(subject: Required<Pick<EventSubject, "name" | "reference" | "digest" | "mediaType" | "manifest">>, context: RequestContext): BerthEvent {
    return this.factory.build("image.updated", subject, context);
  }

  imageDeleted(subject: Required<Pick<EventSubject, "name" | "reference" | "digest" | "mediaType">>, context: RequestContext): BerthEvent {
    return this.factory.build("image.deleted", subject, context);
  }

  imageLintFailed(subject: Required<Pick<EventSubject, "name" | "reference" | "digest" | "mediaType" | "manifest">>, context: RequestContext): BerthEvent {
    return this.factory.build("image.lint_failed", subject, context);
  }

  /**
   * Hands events to the outbox. It resolves fast and never rejects for a Redis outage (it
   * journals to disk instead); it can still reject when the disk fails too. Then the write has
   * already happened and a 500 would make the client retry a push that succeeded (and a re-push
   * of the same manifest emits nothing), so the events are kept in memory and handed over again
   * with backoff, in order, until the outbox takes them. `/healthz` reports them meanwhile.
   */
  async publish(events: BerthEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Behind events still waiting, new ones wait their turn: a repository's order is kept.
    if (this.pending.length === 0) {
      try {
        await this.publisher.publish(events);
        return;
      } catch (err) {
        this.log.error({ err, events: events.map((e) => ({ id: e.id, type: e.type })) }, "event publish failed; retrying in the background");
      }
    }
    this.pending.push(...events);
    this.scheduleRetry();
  }

  /** Events the outbox has not taken yet (only after it rejected a publish). */
  pendingCount(): number {
    return this.pending.length;
  }

  /** Stops retrying; events still pending are logged with their ids. */
  stop(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.pending.length > 0) {
      this.log.error({ events: this.pending.map((e) => ({ id: e.id, type: e.type })) }, "events never accepted by the outbox");
    }
  }

  private readonly pending: BerthEvent[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = RETRY_MIN_MS;

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => void this.retryPending(), this.retryDelayMs);
    this.retryTimer.unref();
  }

  private async retryPending(): Promise<void> {
    this.retryTimer = undefined;
    const batch = this.pending.slice();
    try {
      await this.publisher.publish(batch);
      this.pending.splice(0, batch.length);
      this.retryDelayMs = RETRY_MIN_MS;
      this.log.info({ events: batch.length }, "events accepted by the outbox after a retry");
    } catch (err) {
      this.retryDelayMs = Math.min(RETRY_MAX_MS, this.retryDelayMs * 2);
      this.log.error({ err, pending: this.pending.length }, "event publish retry failed");
    }
    if (this.pending.length > 0) this.scheduleRetry();
  }
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 30_000;

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
   * Hands events to the outbox. It resolves fast and never rejects for a Redis outage; a
   * rejection anyway is logged and swallowed: the registry write already happened and a 500
   * would make the client retry a push that succeeded.
   */
  async publish(events: BerthEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.publisher.publish(events);
    } catch (err) {
      this.log.error({ err, events: events.map((e) => ({ id: e.id, type: e.type })) }, "event publish failed");
    }
  }
}

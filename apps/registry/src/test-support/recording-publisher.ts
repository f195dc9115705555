import type { BerthEvent, EventPublisher } from "@berth/events";

/** An EventPublisher that keeps what it is given, for assertions (tests only). */
export class RecordingPublisher implements EventPublisher {
  readonly events: BerthEvent[] = [];
  /** When set, publish rejects with it (to show the registry survives a failing outbox). */
  failWith: Error | undefined;
  /** When set, publish waits for it (a slow outbox). */
  hold: Promise<void> | undefined;

  async publish(events: readonly BerthEvent[]): Promise<void> {
    if (this.hold) await this.hold;
    if (this.failWith) throw this.failWith;
    this.events.push(...events);
  }

  ofKind(kind: string): BerthEvent[] {
    return this.events.filter((e) => e.type.endsWith(`.${kind}`));
  }

  clear(): void {
    this.events.length = 0;
  }
}

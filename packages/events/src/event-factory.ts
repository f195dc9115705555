import { randomUUID } from "node:crypto";
import {
  type BerthEvent,
  DEFAULT_EVENT_SOURCE,
  DEFAULT_TYPE_PREFIX,
  EVENT_KINDS,
  type EventData,
  type EventKind,
  type RequestContext,
} from "./event.js";

export interface EventFactoryOptions {
  source?: string;
  typePrefix?: string;
  /** Injected for tests; defaults to the wall clock and random UUIDs. */
  now?: () => Date;
  newId?: () => string;
}

export type EventSubject = Omit<EventData, "actor" | "request">;

export interface EventFactory {
  build(kind: EventKind, subject: EventSubject, context?: RequestContext): BerthEvent;
}

export function createEventFactory(options: EventFactoryOptions = {}): EventFactory {
  const source = options.source ?? DEFAULT_EVENT_SOURCE;
  const prefix = options.typePrefix ?? DEFAULT_TYPE_PREFIX;
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? randomUUID;
  return {
    build(kind, subject, context) {
      const data: EventData = { ...subject };
      // zot omits actor/request entirely when there is no request context.
      if (context?.actor) data.actor = { name: context.actor.name };
      if (context?.request) data.request = { ...context.request };
      return {
        specversion: "1.0",
        id: newId(),
        source,
        type: `${prefix}.${kind}`,
        time: now().toISOString(),
        datacontenttype: "application/json",
        data,
      };
    },
  };
}

/** The kind of an event whatever its configured type prefix, or undefined for a foreign type. */
export function eventKindOf(type: string): EventKind | undefined {
  return EVENT_KINDS.find((kind) => type === kind || type.endsWith(`.${kind}`));
}

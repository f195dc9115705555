/**
 * The registry event model: CloudEvents 1.0 with zot's `data` fields, so a consumer written for
 * zot's events works unchanged. https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
 */

/** The four things zot reports; the CloudEvent `type` is `${typePrefix}.${kind}`. */
export const EVENT_KINDS = [
  "repository.created",
  "image.updated",
  "image.deleted",
  "image.lint_failed",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const DEFAULT_EVENT_SOURCE = "zotregistry.dev";
export const DEFAULT_TYPE_PREFIX = "zotregistry";

export interface EventActor {
  name: string;
}

export interface EventRequest {
  addr: string;
  method: string;
  useragent: string;
}

/** Who asked for the change; absent for internally triggered operations (zot omits both). */
export interface RequestContext {
  actor?: EventActor;
  request?: EventRequest;
}

/** zot's payload fields. `manifest` is the manifest body as a string (updated and lint_failed). */
export interface EventData {
  name: string;
  reference?: string;
  digest?: string;
  mediaType?: string;
  manifest?: string;
  actor?: EventActor;
  request?: EventRequest;
}

export interface BerthEvent {
  specversion: "1.0";
  /** Unique; kept across retries and replays so consumers can deduplicate. */
  id: string;
  source: string;
  type: string;
  /** RFC 3339 */
  time: string;
  datacontenttype: "application/json";
  data: EventData;
}

/** The success boundary of the registry hands events here; resolves once the event is durable. */
export interface EventPublisher {
  publish(events: readonly BerthEvent[]): Promise<void>;
}

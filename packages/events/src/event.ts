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
  /**
   * Extension attribute set when `data.manifest` was left out of an event that carries one
   * (payload.ts): `thin` (the sink asks for no manifests) or `size` (larger than the sink's
   * maxManifestBytes or its transport's limit). Absent = nothing left out.
   */
  manifestomitted?: ManifestOmitted;
  /**
   * CloudEvents `sequence` extension: this event's place among the events of its repository
   * (`data.name`), assigned by the outbox when the event becomes durable in the queue. A 20-digit
   * zero-padded decimal, so string and numeric comparison agree. Absent on events not yet enqueued.
   */
  sequence?: string;
  /** `snapshot` extension: true on the `image.updated` events of `berth sink bootstrap`. */
  snapshot?: boolean;
  /**
   * `outoforder` extension: true when an ordered sink delivers this event after a later event of
   * the same repository (a replayed dead letter). Set per delivery, never stored.
   */
  outoforder?: boolean;
}

/** The extension attributes an event may carry, in the order they are written. */
export const EXTENSION_ATTRIBUTES = ["sequence", "snapshot", "outoforder", "manifestomitted"] as const;

/** The event's extension attributes as CloudEvents strings (binary mode headers). */
export function extensionAttributes(event: BerthEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of EXTENSION_ATTRIBUTES) {
    const value = event[name];
    if (value !== undefined) out[name] = String(value);
  }
  return out;
}

/** Width of the sequence's decimal string: any value of Redis's 64-bit counter fits. */
export const SEQUENCE_DIGITS = 20;

/** `42` → `"00000000000000000042"`. */
export function formatSequence(n: number | bigint): string {
  return n.toString().padStart(SEQUENCE_DIGITS, "0");
}

export type ManifestOmitted = "thin" | "size";

/** The success boundary of the registry hands events here; resolves once the event is durable. */
export interface EventPublisher {
  publish(events: readonly BerthEvent[]): Promise<void>;
}

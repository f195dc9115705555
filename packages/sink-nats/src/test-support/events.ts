import { type BerthEvent, createEventFactory, EVENT_KINDS, type EventKind } from "@berth/events";

const factory = createEventFactory();

/** One event of the given kind, shaped like zot's (reference and digest set where zot sets them). */
export function sampleEvent(kind: EventKind = "image.updated", name = "library/alpine"): BerthEvent {
  const withManifest = kind === "image.updated" || kind === "image.lint_failed";
  return factory.build(
    kind,
    {
      name,
      ...(kind === "repository.created" ? {} : { reference: "latest", digest: `sha256:${"ab".repeat(32)}` }),
      ...(withManifest ? { mediaType: "application/vnd.oci.image.manifest.v1+json", manifest: "{}" } : {}),
    },
    { actor: { name: "alice" }, request: { addr: "127.0.0.1:5000", method: "PUT", useragent: "test" } },
  );
}

export const ALL_KINDS: readonly EventKind[] = EVENT_KINDS;

/**
 * The event log keeps no manifest that every sink left out or that is over its own cap
 * (`extensions.events.log.maxManifestBytes`, see @berth/outbox): one large manifest must not cost
 * Redis one more copy. A replay to a sink that takes manifests puts it back from storage (the
 * manifest is content-addressed: `data.digest` names it exactly); a manifest storage no longer
 * has (deleted, or the CLI runs where the registry's files are not) leaves the event as logged,
 * still marked with `manifestomitted`, so the consumer knows to fetch it by digest.
 */
import type { SinkConfig } from "@berth/config";
import { type BerthEvent, shapePayload } from "@berth/events";

/** Where manifests are read from: the registry's storage (`Storage["manifests"]`). */
export interface ManifestSource {
  get(repository: string, reference: string): Promise<{ digest: string; body: Buffer }>;
}

export interface ShapedForSink {
  event: BerthEvent;
  /** The log left the manifest out, the sink takes it, and storage did not have it. */
  missing: boolean;
}

async function restored(event: BerthEvent, manifests: ManifestSource | undefined): Promise<BerthEvent | undefined> {
  const { digest } = event.data;
  if (!manifests || !digest) return undefined;
  try {
    const stored = await manifests.get(event.data.name, digest);
    if (stored.digest !== digest) return undefined;
    const { manifestomitted: _left, ...rest } = event;
    return { ...rest, data: { ...event.data, manifest: stored.body.toString("utf8") } };
  } catch {
    return undefined;
  }
}

/** A logged event as `sink` takes it (`payload`, `maxManifestBytes`), its manifest restored when needed. */
export async function shapeLoggedEvent(event: BerthEvent, sink: SinkConfig, manifests?: ManifestSource): Promise<ShapedForSink> {
  if (event.manifestomitted === undefined) return { event: shapePayload(event, sink), missing: false };
  // A thin sink never takes a manifest: it gets the reason it would have got live.
  if (sink.payload === "thin") return { event: { ...event, manifestomitted: "thin" }, missing: false };
  const whole = await restored(event, manifests);
  if (!whole) return { event, missing: true };
  return { event: shapePayload(whole, sink), missing: false };
}

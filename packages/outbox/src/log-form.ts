import { type BerthEvent, shapePayload } from "@berth/events";

/**
 * The form the event log keeps (issue 16: one large manifest must not cost an extra copy in
 * Redis): without the manifest when every sink's job left it out (no sink got it, so the log
 * need not hold it), or when it is over the log's own `maxManifestBytes`; the published event
 * otherwise. `berth events replay` puts a left-out manifest back from storage for a sink that
 * takes manifests. Undefined = the event as published.
 */
export function logForm(event: BerthEvent, forms: readonly BerthEvent[], maxManifestBytes: number): BerthEvent | undefined {
  if (event.data.manifest === undefined) return undefined;
  const omitted = forms.find((f) => f.manifestomitted !== undefined);
  if (omitted && forms.every((f) => f.manifestomitted !== undefined)) return omitted;
  const capped = shapePayload(event, { maxManifestBytes });
  return capped === event ? undefined : capped;
}

import type { ParsedManifest } from "@berth/oci";

/**
 * zot's lint extension: a manifest must carry every `mandatoryAnnotations` key, in its own
 * annotations or (for images) in its config's labels; otherwise the push is refused with
 * MANIFEST_INVALID and an image.lint_failed event is emitted.
 */
export interface LintSettings {
  enable: boolean;
  mandatoryAnnotations: string[];
}

export function missingAnnotations(
  settings: LintSettings,
  manifest: ParsedManifest,
  configLabels: Record<string, unknown> | undefined,
): string[] {
  if (!settings.enable) return [];
  return settings.mandatoryAnnotations.filter(
    (key) => !Object.hasOwn(manifest.annotations, key) && !(configLabels && Object.hasOwn(configLabels, key)),
  );
}

/** `config.Labels` of an image config document, if it is one. */
export function configLabels(configJson: Buffer | undefined): Record<string, unknown> | undefined {
  if (!configJson) return undefined;
  try {
    const doc = JSON.parse(configJson.toString("utf8")) as { config?: { Labels?: unknown } };
    const labels = doc.config?.Labels;
    return labels && typeof labels === "object" ? (labels as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

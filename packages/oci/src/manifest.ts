import { isDigest } from "./digest.js";
import { OciError } from "./errors.js";
import { type ManifestKind, manifestKindOf } from "./media-types.js";

/**
 * Manifest validation for what a registry must check on PUT (distribution-spec v1.1.1 "Pushing
 * Manifests"): well-formed JSON, a known media type, valid descriptors, and the digests it refers to,
 * so the caller can require those blobs (image) or manifests (index) to exist.
 */

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: unknown;
}

export interface ParsedManifest {
  kind: ManifestKind;
  mediaType: string;
  artifactType?: string;
  /** config.mediaType of an image manifest (the referrers API falls back to it). */
  configMediaType?: string;
  subject?: Descriptor;
  annotations: Record<string, string>;
  /** Blobs an image manifest needs (config + layers). */
  blobs: string[];
  /** Manifests an index needs. */
  manifests: Descriptor[];
  configDigest?: string;
}

/** The registry refuses larger manifests (spec: registries SHOULD accept at least 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function invalid(reason: string, detail: Record<string, unknown> = {}): OciError {
  return new OciError("MANIFEST_INVALID", `manifest invalid: ${reason}`, { detail: { reason, ...detail } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readAnnotations(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw invalid(`${where}.annotations must be an object`);
  for (const v of Object.values(value)) {
    if (typeof v !== "string") throw invalid(`${where}.annotations values must be strings`);
  }
  return value as Record<string, string>;
}

export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, artifactType } = value;
  if (typeof mediaType !== "string" || mediaType.length === 0) throw invalid(`${where}.mediaType missing`);
  if (typeof digest !== "string" || !isDigest(digest)) {
    throw new OciError("DIGEST_INVALID", `${where}.digest is not a valid digest`, { detail: { digest } });
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size invalid`);
  if (artifactType !== undefined && typeof artifactType !== "string") throw invalid(`${where}.artifactType invalid`);
  const annotations = readAnnotations(value["annotations"], where);
  const descriptor: Descriptor = { mediaType, digest, size };
  if (artifactType !== undefined) descriptor.artifactType = artifactType;
  if (annotations) descriptor.annotations = annotations;
  if (value["platform"] !== undefined) descriptor.platform = value["platform"];
  return descriptor;
}

function parseJson(body: Uint8Array): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw invalid("not valid JSON");
  }
  if (!isRecord(doc)) throw invalid("not a JSON object");
  return doc;
}

/** The media type: the body's `mediaType` field wins; else the request's Content-Type. */
function resolveMediaType(doc: Record<string, unknown>, contentType: string | undefined): string {
  const declared = doc["mediaType"];
  if (declared !== undefined && typeof declared !== "string") throw invalid("mediaType must be a string");
  const header = contentType?.split(";")[0]?.trim();
  if (declared && header && manifestKindOf(header) && header !== declared) {
    throw invalid("Content-Type does not match the manifest's mediaType", { contentType: header, mediaType: declared });
  }
  const mediaType = declared || header;
  if (mediaType && manifestKindOf(mediaType)) return mediaType;
  // OCI manifests may omit mediaType; recognise them by shape (image-spec: "manifests" vs "layers").
  if (!declared && Array.isArray(doc["manifests"])) return "application/vnd.oci.image.index.v1+json";
  if (!declared && isRecord(doc["config"])) return "application/vnd.oci.image.manifest.v1+json";
  throw invalid("unsupported manifest media type", { mediaType: mediaType ?? null });
}

export function parseManifest(body: Uint8Array, contentType?: string): ParsedManifest {
  if (body.byteLength > MAX_MANIFEST_BYTES) {
    throw new OciError("SIZE_INVALID", "manifest too large", { status: 413, detail: { limit: MAX_MANIFEST_BYTES } });
  }
  const doc = parseJson(body);
  if (doc["schemaVersion"] !== 2) throw invalid("schemaVersion must be 2");
  const mediaType = resolveMediaType(doc, contentType);
  const kind = manifestKindOf(mediaType) ?? "image";
  const artifactType = doc["artifactType"];
  if (artifactType !== undefined && typeof artifactType !== "string") throw invalid("artifactType must be a string");
  const parsed: ParsedManifest = {
    kind,
    mediaType,
    annotations: readAnnotations(doc["annotations"], "manifest") ?? {},
    blobs: [],
    manifests: [],
  };
  if (artifactType) parsed.artifactType = artifactType;
  if (doc["subject"] !== undefined) parsed.subject = parseDescriptor(doc["subject"], "subject");
  if (kind === "image") readImage(doc, parsed);
  else readIndex(doc, parsed);
  return parsed;
}

function readImage(doc: Record<string, unknown>, parsed: ParsedManifest): void {
  const config = parseDescriptor(doc["config"], "config");
  const layers = doc["layers"];
  if (!Array.isArray(layers)) throw invalid("layers must be an array");
  parsed.configDigest = config.digest;
  parsed.configMediaType = config.mediaType;
  parsed.blobs.push(config.digest);
  layers.forEach((layer, i) => {
    parsed.blobs.push(parseDescriptor(layer, `layers[${i}]`).digest);
  });
}

function readIndex(doc: Record<string, unknown>, parsed: ParsedManifest): void {
  const manifests = doc["manifests"];
  if (!Array.isArray(manifests)) throw invalid("manifests must be an array");
  manifests.forEach((m, i) => {
    parsed.manifests.push(parseDescriptor(m, `manifests[${i}]`));
  });
}

/** Referrers API (spec "Listing Referrers"): artifactType, else the config media type. */
export function effectiveArtifactType(manifest: ParsedManifest): string | undefined {
  return manifest.artifactType ?? (manifest.kind === "image" ? manifest.configMediaType : undefined);
}

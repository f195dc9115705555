import {
  type Digest,
  MAX_MANIFEST_BYTES,
  OciError,
  type ParsedManifest,
  digestOf,
  isDigest,
  isValidTag,
  parseDigest,
  parseManifest,
  validateTag,
} from "@berth/oci";
import { readBody } from "../http/body.js";
import { type Ctx, eventContext, sendEmpty } from "../http/context.js";
import { configLabels, missingAnnotations } from "../lint.js";
import { ensureAnnounced } from "../events/repository-creation.js";
import { requireWritable } from "./write-guard.js";

/** end-3 GET/HEAD, end-7 PUT, end-9 DELETE on `/v2/<name>/manifests/<reference>`. */

async function requireRepository(ctx: Ctx): Promise<void> {
  if (!(await ctx.deps.storage.repositories.exists(ctx.name))) {
    throw new OciError("NAME_UNKNOWN", undefined, { detail: { name: ctx.name } });
  }
}

/** A reference is a digest (validated) or a tag (validated). */
function checkReference(reference: string): void {
  if (reference.includes(":")) parseDigest(reference);
  else validateTag(reference);
}

export async function getManifest(ctx: Ctx): Promise<void> {
  // Nothing can be stored under an invalid tag, so a read of one finds nothing: 404, as the OCI
  // conformance suite expects (`.INVALID_MANIFEST_NAME`). A malformed digest stays DIGEST_INVALID.
  if (!ctx.ref.includes(":") && !isValidTag(ctx.ref)) {
    throw new OciError("MANIFEST_UNKNOWN", undefined, { detail: { reference: ctx.ref.slice(0, 128) } });
  }
  checkReference(ctx.ref);
  await requireRepository(ctx);
  const manifest = await ctx.deps.storage.manifests.get(ctx.name, ctx.ref);
  ctx.res.writeHead(200, {
    "Content-Type": manifest.mediaType,
    "Docker-Content-Digest": manifest.digest,
    ETag: `"${manifest.digest}"`,
    "Content-Length": manifest.body.length,
  });
  if (ctx.req.method === "HEAD") {
    ctx.res.end();
    return;
  }
  ctx.bytesOut += manifest.body.length;
  ctx.res.end(manifest.body);
}

export async function putManifest(ctx: Ctx): Promise<void> {
  requireWritable(ctx);
  checkReference(ctx.ref);
  const body = await readBody(ctx.req, ctx.res, MAX_MANIFEST_BYTES, ctx.deps.bodyBudget);
  ctx.bytesIn += body.length;
  const parsed = parseManifest(body, ctx.req.headers["content-type"]);
  const digest = manifestDigest(ctx.ref, body);
  const { storage, events } = ctx.deps;
  await refuseUnlinted(ctx, parsed, digest, body);
  // A new repository holds nothing yet: refuse before creating it for a manifest that cannot land.
  if (!(await storage.repositories.exists(ctx.name))) await storage.manifests.requireReferences(ctx.name, parsed);
  await ensureAnnounced(storage.repositories, events, ctx.name, eventContext(ctx));
  await storage.manifests.put(ctx.name, { reference: ctx.ref, body, digest, parsed });
  // Emitted on every accepted PUT, even when the tag already pointed at this manifest: if the
  // registry crashed between storing a push and making its event durable, the client's retry of
  // that push is the only chance to emit it. A repeat costs consumers one more event (new id);
  // skipping it could lose one.
  await events.publish([
    events.imageUpdated(
      { name: ctx.name, reference: ctx.ref, digest: digest.value, mediaType: parsed.mediaType, manifest: body.toString("utf8") },
      eventContext(ctx),
    ),
  ]);
  const headers: Record<string, string> = {
    Location: `/v2/${ctx.name}/manifests/${digest.value}`,
    "Docker-Content-Digest": digest.value,
  };
  // Spec "Pushing Manifests with Subject": tell the client the subject was processed.
  if (parsed.subject) headers["OCI-Subject"] = parsed.subject.digest;
  sendEmpty(ctx.res, 201, headers);
}

/** The digest a manifest is stored under; a push by digest must match its body (DIGEST_INVALID). */
function manifestDigest(reference: string, body: Buffer): Digest {
  if (!isDigest(reference)) return parseDigest(digestOf(body, "sha256"));
  const claimed = parseDigest(reference);
  const actual = digestOf(body, claimed.algorithm);
  if (actual !== claimed.value) {
    throw new OciError("DIGEST_INVALID", undefined, { detail: { expected: claimed.value, actual } });
  }
  return claimed;
}

/** zot's lint extension: refuse with MANIFEST_INVALID and emit image.lint_failed. */
async function refuseUnlinted(ctx: Ctx, parsed: ParsedManifest, digest: Digest, body: Buffer): Promise<void> {
  const { lint, events } = ctx.deps;
  if (!lint.enable || lint.mandatoryAnnotations.length === 0) return;
  let labels: Record<string, unknown> | undefined;
  if (parsed.kind === "image" && parsed.configDigest && missingAnnotations(lint, parsed, undefined).length > 0) {
    labels = configLabels(await readSmallBlob(ctx, parsed.configDigest));
  }
  const missing = missingAnnotations(lint, parsed, labels);
  if (missing.length === 0) return;
  await events.publish([
    events.imageLintFailed(
      { name: ctx.name, reference: ctx.ref, digest: digest.value, mediaType: parsed.mediaType, manifest: body.toString("utf8") },
      eventContext(ctx),
    ),
  ]);
  throw new OciError("MANIFEST_INVALID", "manifest is missing mandatory annotations", { detail: { missing } });
}

const MAX_CONFIG_BYTES = 1 << 20;

async function readSmallBlob(ctx: Ctx, digestValue: string): Promise<Buffer | undefined> {
  const digest = parseDigest(digestValue);
  const { blobs } = ctx.deps.storage;
  const size = await blobs.stat(ctx.name, digest);
  if (size === undefined || size > MAX_CONFIG_BYTES) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of blobs.read(ctx.name, digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** end-9 (by digest) and tag deletion (by tag) → 202, then image.deleted. */
export async function deleteManifest(ctx: Ctx): Promise<void> {
  requireWritable(ctx);
  checkReference(ctx.ref);
  await requireRepository(ctx);
  const deleted = await ctx.deps.storage.manifests.delete(ctx.name, ctx.ref);
  const { events } = ctx.deps;
  await events.publish([
    events.imageDeleted(
      { name: ctx.name, reference: ctx.ref, digest: deleted.digest, mediaType: deleted.mediaType },
      eventContext(ctx),
    ),
  ]);
  sendEmpty(ctx.res, 202);
}

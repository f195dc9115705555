import { type Digest, OciError, isValidRepositoryName, parseDigest, parseUploadContentRange } from "@berth/oci";
import { reservedComponentOf } from "@berth/storage";
import { eventContext, type Ctx, sendEmpty } from "../http/context.js";
import { hasBody } from "../http/body.js";
import { ensureAnnounced } from "../events/repository-creation.js";
import { requireWritable } from "./write-guard.js";

/**
 * Blob uploads (distribution-spec "Pushing blobs"): end-4a/4b POST, end-5 PATCH, end-6 PUT,
 * end-11 mount, end-13 status GET, upload DELETE. Sessions live in the UploadStore.
 */

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

/** `Range: 0-<last byte>`; an empty upload reports 0-0, as CNCF Distribution and zot do. */
function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function created(ctx: Ctx, digest: string): void {
  sendEmpty(ctx.res, 201, { Location: `/v2/${ctx.name}/blobs/${digest}`, "Docker-Content-Digest": digest });
}

async function ensureRepository(ctx: Ctx): Promise<void> {
  await ensureAnnounced(ctx.deps.storage.repositories, ctx.deps.events, ctx.name, eventContext(ctx));
}

/** POST `/v2/<name>/blobs/uploads/` — monolithic (`?digest=`), mount (`?mount=`), or a new session. */
export async function startUpload(ctx: Ctx): Promise<void> {
  requireWritable(ctx);
  const digestParam = ctx.query.get("digest");
  const expected = digestParam !== null ? parseDigest(digestParam) : undefined;
  await ensureRepository(ctx);
  const { blobs, uploads } = ctx.deps.storage;
  const mount = ctx.query.get("mount");
  if (mount !== null && !expected && (await tryMount(ctx, mount))) return;
  if (expected) {
    const { size } = await blobs.write(ctx.name, expected, ctx.req);
    ctx.bytesIn += size;
    created(ctx, expected.value);
    return;
  }
  const id = await uploads.create(ctx.name);
  sendEmpty(ctx.res, 202, {
    Location: uploadLocation(ctx.name, id),
    Range: rangeHeader(0),
    "Docker-Upload-UUID": id,
    "Blob-Upload-Session-ID": id,
  });
}

/**
 * end-11: mount from `from`, or — when `from` is absent — from any repository known to hold the
 * blob (spec "automatic content discovery"). A bad digest or source falls back to an upload.
 */
async function tryMount(ctx: Ctx, mount: string): Promise<boolean> {
  let digest: Digest;
  try {
    digest = parseDigest(mount);
  } catch {
    return false;
  }
  const { blobs } = ctx.deps.storage;
  const fromParam = ctx.query.get("from");
  const from = fromParam === null ? await blobs.locate(digest) : fromParam;
  if (from === undefined || !isValidRepositoryName(from) || reservedComponentOf(from) !== undefined) return false;
  if (!(await blobs.mount(from, ctx.name, digest))) return false;
  created(ctx, digest.value);
  return true;
}

/** end-13: upload status → 204 with `Range`. */
export async function getUploadStatus(ctx: Ctx): Promise<void> {
  const size = await ctx.deps.storage.uploads.size(ctx.name, ctx.ref);
  sendEmpty(ctx.res, 204, {
    Location: uploadLocation(ctx.name, ctx.ref),
    Range: rangeHeader(size),
    "Docker-Upload-UUID": ctx.ref,
    "Blob-Upload-Session-ID": ctx.ref,
  });
}

/** Appends the request body; a 416 carries the current Range so the client can resume. */
async function appendChunk(ctx: Ctx): Promise<number> {
  const { uploads } = ctx.deps.storage;
  const header = ctx.req.headers["content-range"];
  try {
    const range = header ? parseUploadContentRange(header) : undefined;
    const before = await uploads.size(ctx.name, ctx.ref);
    const after = await uploads.append(ctx.name, ctx.ref, ctx.req, range);
    ctx.bytesIn += after - before;
    return after;
  } catch (err) {
    if (err instanceof OciError && err.status === 416) {
      const size = await uploads.size(ctx.name, ctx.ref).catch(() => 0);
      ctx.res.setHeader("Location", uploadLocation(ctx.name, ctx.ref));
      ctx.res.setHeader("Range", rangeHeader(size));
    }
    throw err;
  }
}

/** end-5: PATCH a chunk (streamed, or with `Content-Range`; out of order → 416). */
export async function patchUpload(ctx: Ctx): Promise<void> {
  requireWritable(ctx);
  const size = await appendChunk(ctx);
  sendEmpty(ctx.res, 202, {
    Location: uploadLocation(ctx.name, ctx.ref),
    Range: rangeHeader(size),
    "Docker-Upload-UUID": ctx.ref,
    "Blob-Upload-Session-ID": ctx.ref,
  });
}

/** end-6: PUT `?digest=` closes the session, with an optional last chunk. */
export async function finishUpload(ctx: Ctx): Promise<void> {
  requireWritable(ctx);
  const { uploads } = ctx.deps.storage;
  await uploads.size(ctx.name, ctx.ref); // BLOB_UPLOAD_UNKNOWN first, whatever the parameters
  const digestParam = ctx.query.get("digest");
  if (digestParam === null) {
    throw new OciError("DIGEST_INVALID", "the digest query parameter is required", { detail: {} });
  }
  const digest = parseDigest(digestParam);
  if (hasBody(ctx.req)) await appendChunk(ctx);
  await uploads.complete(ctx.name, ctx.ref, digest);
  created(ctx, digest.value);
}

/** DELETE an upload session → 204. */
export async function cancelUpload(ctx: Ctx): Promise<void> {
  await ctx.deps.storage.uploads.cancel(ctx.name, ctx.ref);
  sendEmpty(ctx.res, 204);
}

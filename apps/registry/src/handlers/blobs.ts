import { type Digest, OciError, parseBlobRange, parseDigest } from "@berth/oci";
import type { BlobRange, OpenBlob } from "@berth/storage";
import { type Ctx, sendEmpty } from "../http/context.js";
import { requireWritable } from "./write-guard.js";

/** end-2 (GET/HEAD `/v2/<name>/blobs/<digest>`), streamed, with single-range support. */
export async function getBlob(ctx: Ctx): Promise<void> {
  const digest = parseDigest(ctx.ref);
  const { blobs } = ctx.deps.storage;
  if (ctx.req.method === "HEAD") {
    // A HEAD is how a pushing client decides to skip an upload: the blob must outlive its push.
    const size = await blobs.probe(ctx.name, digest);
    if (size === undefined) throw blobUnknown(digest);
    writeBlobHead(ctx, digest, size);
    ctx.res.end();
    return;
  }
  const blob = await blobs.open(ctx.name, digest);
  if (!blob) throw blobUnknown(digest);
  try {
    const range = writeBlobHead(ctx, digest, blob.size);
    const length = range ? range.end - range.start + 1 : blob.size;
    ctx.bytesOut += length;
    await sendBlob(ctx, blob, range);
  } finally {
    await blob.close();
  }
}

function blobUnknown(digest: Digest): OciError {
  return new OciError("BLOB_UNKNOWN", undefined, { detail: { digest: digest.value } });
}

/** Status and headers of a blob GET/HEAD; returns the requested range (416 when unsatisfiable). */
function writeBlobHead(ctx: Ctx, digest: Digest, size: number): BlobRange | undefined {
  const headers: Record<string, string | number> = {
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest.value,
    "Accept-Ranges": "bytes",
    ETag: `"${digest.value}"`,
  };
  const rangeHeader = ctx.req.headers.range;
  let range: BlobRange | undefined;
  try {
    range = rangeHeader ? parseBlobRange(rangeHeader, size) : undefined;
  } catch (err) {
    ctx.res.setHeader("Content-Range", `bytes */${size}`);
    throw err;
  }
  const length = range ? range.end - range.start + 1 : size;
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${size}`;
  ctx.res.writeHead(range ? 206 : 200, { ...headers, "Content-Length": length });
  return range;
}

async function sendBlob(ctx: Ctx, blob: OpenBlob, range: BlobRange | undefined): Promise<void> {
  try {
    await blob.sendTo(ctx.res, range);
    ctx.res.end();
  } catch (err) {
    // Headers are out: a failure here (client gone, disk error) can only close the socket.
    ctx.log.debug({ err }, "blob stream ended early");
    ctx.res.destroy();
  }
}

/** end-10: `DELETE /v2/<name>/blobs/<digest>` → 202. */
export async function deleteBlob(ctx: Ctx): Promise<void> {
  requireWritable(ctx);
  const digest = parseDigest(ctx.ref);
  const deleted = await ctx.deps.storage.manifests.deleteBlob(ctx.name, digest);
  if (!deleted) throw new OciError("BLOB_UNKNOWN", undefined, { detail: { digest: digest.value } });
  sendEmpty(ctx.res, 202);
}

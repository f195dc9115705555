import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OciError, parseBlobRange, parseDigest } from "@berth/oci";
import { type Ctx, sendEmpty } from "../http/context.js";
import { requireWritable } from "./write-guard.js";

/** end-2 (GET/HEAD `/v2/<name>/blobs/<digest>`), streamed, with single-range support. */
export async function getBlob(ctx: Ctx): Promise<void> {
  const digest = parseDigest(ctx.ref);
  const { blobs } = ctx.deps.storage;
  const size = await blobs.stat(ctx.name, digest);
  if (size === undefined) throw new OciError("BLOB_UNKNOWN", undefined, { detail: { digest: digest.value } });
  const headers: Record<string, string | number> = {
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest.value,
    "Accept-Ranges": "bytes",
    ETag: `"${digest.value}"`,
  };
  const rangeHeader = ctx.req.headers.range;
  let range: { start: number; end: number } | undefined;
  try {
    range = rangeHeader ? parseBlobRange(rangeHeader, size) : undefined;
  } catch (err) {
    ctx.res.setHeader("Content-Range", `bytes */${size}`);
    throw err;
  }
  const length = range ? range.end - range.start + 1 : size;
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${size}`;
  ctx.res.writeHead(range ? 206 : 200, { ...headers, "Content-Length": length });
  if (ctx.req.method === "HEAD" || length === 0) {
    ctx.res.end();
    return;
  }
  ctx.bytesOut += length;
  await pipeBlob(ctx, blobs.read(ctx.name, digest, range));
}

async function pipeBlob(ctx: Ctx, stream: Readable): Promise<void> {
  try {
    await pipeline(stream, ctx.res);
  } catch (err) {
    // Headers are out: a failure here (client gone, blob deleted mid-read) can only close the socket.
    ctx.log.debug({ err }, "blob stream ended early");
    ctx.res.destroy();
  }
}

/** end-10: `DELETE /v2/<name>/blobs/<digest>` → 202. */
export async function deleteBlob(ctx: Ctx): Promise<void> {
  requireWritable(ctx);
  const digest = parseDigest(ctx.ref);
  const deleted = await ctx.deps.storage.blobs.delete(ctx.name, digest);
  if (!deleted) throw new OciError("BLOB_UNKNOWN", undefined, { detail: { digest: digest.value } });
  sendEmpty(ctx.res, 202);
}

import { MEDIA_TYPES, parseDigest } from "@berth/oci";
import { type Ctx, sendJson } from "../http/context.js";

/**
 * end-12a/12b: `GET /v2/<name>/referrers/<digest>` — an image index of the manifests whose
 * `subject` is the digest; always 200 (an unknown subject has no referrers); `artifactType`
 * filters, announced by `OCI-Filters-Applied`.
 */
export async function listReferrers(ctx: Ctx): Promise<void> {
  const digest = parseDigest(ctx.ref);
  const { repositories, manifests } = ctx.deps.storage;
  let referrers = (await repositories.exists(ctx.name)) ? await manifests.referrers(ctx.name, digest.value) : [];
  const headers: Record<string, string> = {};
  const artifactType = ctx.query.get("artifactType");
  if (artifactType !== null) {
    referrers = referrers.filter((d) => d.artifactType === artifactType);
    headers["OCI-Filters-Applied"] = "artifactType";
  }
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: referrers };
  sendJson(ctx, 200, index, { ...headers, "Content-Type": MEDIA_TYPES.ociIndex });
}

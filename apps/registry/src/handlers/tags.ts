import { OciError } from "@berth/oci";
import { type Ctx, sendJson } from "../http/context.js";
import { paginate } from "../http/pagination.js";

/** end-8a/8b: `GET /v2/<name>/tags/list`, lexically sorted, `n`/`last` + Link. */
export async function listTags(ctx: Ctx): Promise<void> {
  const { repositories, manifests } = ctx.deps.storage;
  if (!(await repositories.exists(ctx.name))) {
    throw new OciError("NAME_UNKNOWN", undefined, { detail: { name: ctx.name } });
  }
  const page = paginate(await manifests.tags(ctx.name), ctx.query, `/v2/${ctx.name}/tags/list`);
  sendJson(ctx, 200, { name: ctx.name, tags: page.items }, page.link ? { Link: page.link } : {});
}

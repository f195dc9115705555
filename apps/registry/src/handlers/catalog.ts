import { type Ctx, sendJson } from "../http/context.js";
import { paginate } from "../http/pagination.js";

/** `GET /v2/_catalog` (CNCF Distribution's extension), paginated like tags. */
export async function listCatalog(ctx: Ctx): Promise<void> {
  const page = paginate(await ctx.deps.storage.repositories.list(), ctx.query, "/v2/_catalog");
  sendJson(ctx, 200, { repositories: page.items }, page.link ? { Link: page.link } : {});
}

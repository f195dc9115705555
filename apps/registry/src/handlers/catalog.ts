import { type Ctx, sendJson } from "../http/context.js";
import { paginate } from "../http/pagination.js";

/**
 * `GET /v2/_catalog` (CNCF Distribution's extension), paginated like tags. Lists only the
 * repositories the caller may read, so access control hides names as well as content.
 */
export async function listCatalog(ctx: Ctx): Promise<void> {
  const visible = (await ctx.deps.storage.repositories.list()).filter((name) => ctx.access.showsInCatalog(name));
  const page = paginate(visible, ctx.query, "/v2/_catalog");
  sendJson(ctx, 200, { repositories: page.items }, page.link ? { Link: page.link } : {});
}

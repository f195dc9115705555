import { type Ctx, sendJson } from "../http/context.js";

/** end-1: `GET /v2/` — the API version check (and the auth probe clients use). */
export async function getBase(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, {});
}

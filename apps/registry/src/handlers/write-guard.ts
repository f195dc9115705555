import { OciError } from "@berth/oci";
import type { Ctx } from "../http/context.js";

/** A read-only registry refuses every write with DENIED (403). */
export function requireWritable(ctx: Ctx): void {
  if (ctx.deps.readOnly) throw new OciError("DENIED", "the registry is read-only", { detail: { name: ctx.name } });
}

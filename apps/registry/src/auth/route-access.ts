/**
 * What each OCI route needs, in accessControl's actions (zot's mapping, pkg/api/authz.go):
 * GET/HEAD = read; pushing a manifest = create for a new tag or a digest, update when the tag
 * already exists; every step of a blob upload = create; DELETE of a manifest or blob = delete.
 * A cross-repository mount also needs read on the source, checked where the source is known
 * (handlers/uploads.ts). `/v2/` needs an identity only; `_catalog` is filtered per repository.
 */
import type { AccessAction } from "@berth/access";
import { TOKEN_ACTIONS } from "@berth/access";
import type { Storage } from "@berth/storage";
import type { RouteId } from "../http/router.js";

export interface RequiredAccess {
  action: AccessAction;
  repository: string;
}

const BY_METHOD: Partial<Record<RouteId, Partial<Record<string, AccessAction>>>> = {
  // A manifest PUT is create until requiredAccess finds the tag already exists.
  manifest: { GET: "read", HEAD: "read", PUT: "create", DELETE: "delete" },
  blob: { GET: "read", HEAD: "read", DELETE: "delete" },
  "upload-start": { POST: "create" },
  upload: { GET: "create", PATCH: "create", PUT: "create", DELETE: "create" },
  tags: { GET: "read" },
  referrers: { GET: "read" },
};

export interface RouteRequest {
  route: RouteId;
  method: string;
  /** Repository name as in the path ("" for routes without one). */
  name: string;
  ref: string;
}

/** The action a route needs at first sight, before any lookup; undefined for routes without a repository. */
export function actionOf(route: RouteId, method: string): AccessAction | undefined {
  return BY_METHOD[route]?.[method];
}

/**
 * The access a request needs, or undefined for routes without a repository. `mayCreateAndUpdate`
 * spares a manifest push the tag lookup when the answer would not change the decision.
 */
export async function requiredAccess(
  request: RouteRequest,
  storage: Storage,
  mayCreateAndUpdate: (repository: string) => boolean,
): Promise<RequiredAccess | undefined> {
  const { route, method, name, ref } = request;
  const action = actionOf(route, method);
  if (action === undefined) return undefined;
  if (route === "manifest" && method === "PUT" && !ref.includes(":") && !mayCreateAndUpdate(name)) {
    const exists = (await storage.repositories.exists(name)) && (await storage.manifests.tags(name)).includes(ref);
    return { action: exists ? "update" : "create", repository: name };
  }
  return { action, repository: name };
}

/** The token spec scope of a challenge: `repository:<name>:pull` or `…:pull,push` for writes. */
export function tokenScope(route: RouteId, access: RequiredAccess | undefined): string | undefined {
  if (route === "catalog") return "registry:catalog:*";
  if (!access) return undefined;
  const action = TOKEN_ACTIONS[access.action];
  // Pushes read too (blob existence checks), so clients ask for both, as docker and skopeo do.
  return `repository:${access.repository}:${action === "push" ? "pull,push" : action}`;
}

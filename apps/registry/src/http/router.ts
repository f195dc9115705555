/**
 * The distribution-spec v1.1.1 endpoint table ("Endpoints" end-1 … end-13). `<name>` may hold
 * slashes, so each pattern anchors on the fixed suffix and takes the rest greedily as the name.
 * An empty name (`/v2//tags/list`) still routes, so the handler answers NAME_INVALID, not 404.
 */
export type RouteId =
  | "base"
  | "catalog"
  | "manifest"
  | "blob"
  | "upload-start"
  | "upload"
  | "tags"
  | "referrers"
  | "metrics"
  | "healthz";

export interface RouteMatch {
  id: RouteId;
  name?: string;
  /** The reference, digest or upload id in the path (percent-decoded). */
  ref?: string;
}

const PATTERNS: Array<[RouteId, RegExp]> = [
  ["upload-start", /^\/v2\/(.*)\/blobs\/uploads\/?$/],
  ["upload", /^\/v2\/(.*)\/blobs\/uploads\/([^/]+)$/],
  ["blob", /^\/v2\/(.*)\/blobs\/([^/]+)$/],
  ["manifest", /^\/v2\/(.*)\/manifests\/([^/]+)$/],
  ["tags", /^\/v2\/(.*)\/tags\/list$/],
  ["referrers", /^\/v2\/(.*)\/referrers\/([^/]+)$/],
];

export function matchRoute(path: string): RouteMatch | undefined {
  if (path === "/v2/" || path === "/v2") return { id: "base" };
  if (path === "/v2/_catalog") return { id: "catalog" };
  if (path === "/metrics") return { id: "metrics" };
  if (path === "/healthz") return { id: "healthz" };
  if (!path.startsWith("/v2/")) return undefined;
  for (const [id, pattern] of PATTERNS) {
    const m = pattern.exec(path);
    if (!m) continue;
    const match: RouteMatch = { id, name: m[1] ?? "" };
    if (m[2] !== undefined) match.ref = safeDecode(m[2]);
    return match;
  }
  return undefined;
}

/** Some clients percent-encode the `:` of a digest; a broken escape is kept as is (then rejected). */
function safeDecode(segment: string): string {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

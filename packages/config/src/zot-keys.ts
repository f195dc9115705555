/**
 * zot keys Berth does not read, sorted by what ignoring them would do. A key whose absence
 * weakens security or moves data is REFUSED: ignoring it would start a registry that is less
 * protected than the operator configured (plain HTTP instead of TLS, anonymous instead of LDAP)
 * or that stores images somewhere else (S3, sub-paths). Every other zot key is IGNORED with a
 * warning: leaving it out is harmless (an extension Berth lacks, CORS).
 *
 * Paths are canonical spellings, matched case-insensitively like every key. The table in
 * packages/config/README.md ("zot keys") lists the same rows; keep both in step.
 * Source of the key list: zot's `pkg/api/config` and `pkg/extensions/config` structs.
 */

interface Refusal {
  /** What the key does in zot, in a few words. */
  what: string;
  /** What the operator can do instead. */
  instead: string;
}

export const REFUSED_ZOT_KEYS: Readonly<Record<string, Refusal>> = {
  "http.auth.openid": {
    what: "OpenID Connect / OAuth2 login",
    instead: "use http.auth.ldap, or http.auth.bearer with a token service that accepts your identity provider",
  },
  "http.auth.apikey": {
    what: "zot API keys",
    instead: "use http.auth.htpasswd accounts or http.auth.bearer tokens for automation",
  },
  "http.ratelimit": {
    what: "request rate limiting",
    instead: "rate-limit in a reverse proxy in front of the registry",
  },
  "storage.storageDriver": {
    what: "a remote storage driver (S3 and others)",
    instead: "Berth stores images on the local filesystem under storage.rootDirectory only; mount the volume there",
  },
  "storage.subPaths": {
    what: "per-repository-prefix storage roots",
    instead: "Berth keeps every repository under storage.rootDirectory; move those repositories there",
  },
  "log.audit": {
    what: "a separate audit log file",
    instead: "every request is logged with its user, method and route (log.output), and every write emits an event whose actor is the user; remove the key",
  },
  cluster: {
    what: "scale-out clustering (requests proxied between members)",
    instead: "run one Berth registry per storage root; remove the key",
  },
};

/** zot keys whose absence is harmless: one warning each, then ignored. */
export const IGNORED_ZOT_KEYS: Readonly<Record<string, string>> = {
  "http.externalUrl": "zot's external URL for its UI",
  "http.allowOrigin": "CORS origins (Berth sends no CORS headers, which is stricter)",
  "http.realm": "the Basic auth realm name",
  "http.compat": "zot's Docker media-type compatibility switch",
  "http.auth.failDelay": "a delay after failed logins",
  "http.auth.sessionKeysFile": "UI session keys",
  "http.auth.sessionDriver": "UI session storage",
  "http.auth.secureSession": "UI session cookies",
  "storage.dedupe": "hard-link deduplication",
  "storage.retention": "image retention policies (Berth's gc removes no tag)",
  "storage.commit": "zot's commit-on-write switch",
  "storage.remoteCache": "the dedupe cache location",
  "storage.cacheDriver": "the dedupe cache driver",
  "storage.untaggedImageRetentionDelay": "untagged image retention (Berth's gc uses storage.gcDelay)",
  scheduler: "zot's background task workers",
  "extensions.search": "the search / CVE extension",
  "extensions.sync": "registry mirroring",
  "extensions.metrics": "zot's metrics switch (Berth always serves /metrics)",
  "extensions.scrub": "the scrub extension",
  "extensions.ui": "the web UI",
  "extensions.mgmt": "the management extension",
  "extensions.trust": "signature verification display",
  "extensions.imagetrust": "signature verification display",
  "extensions.apikey": "API keys",
};

const REFUSED_BY_LOWER = new Map(Object.entries(REFUSED_ZOT_KEYS).map(([k, v]) => [k.toLowerCase(), { key: k, ...v }]));
const IGNORED_BY_LOWER = new Map(Object.entries(IGNORED_ZOT_KEYS).map(([k, v]) => [k.toLowerCase(), v]));

export type UnknownKeyFinding = { problem: string } | { warning: string };

/**
 * The finding for a key Berth does not read at `path`. A refused key set to nothing (`false`,
 * `{}`, `[]`, `""`) switches nothing on, so it is only a warning.
 */
export function unknownKeyFinding(path: string, value: unknown): UnknownKeyFinding {
  const lower = path.toLowerCase();
  const refused = REFUSED_BY_LOWER.get(lower);
  if (refused) {
    const unsupported = `${path}: ${refused.what} (zot key) is not supported by Berth`;
    return isUnset(value) ? { warning: `${unsupported}; it switches nothing on here, so ignored` } : { problem: `${unsupported}; ${refused.instead}` };
  }
  const ignored = IGNORED_BY_LOWER.get(lower);
  if (ignored) return { warning: `${path}: zot key for ${ignored}, not used by Berth; ignored` };
  return { warning: `${path}: unknown key, ignored` };
}

function isUnset(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === "" || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value).length === 0;
}

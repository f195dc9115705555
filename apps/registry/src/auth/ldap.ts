/**
 * LDAP provider (zot's `http.auth.ldap`): Basic credentials checked against a directory the way
 * zot does — bind as the search account (or anonymously), find the one entry whose
 * `userAttribute` is the user name (and that matches `userFilter`), then bind as that entry with
 * the password; the values of `userGroupAttribute` are the user's groups for accessControl.
 *
 * An empty password is refused before the directory sees it: LDAP treats a simple bind with a
 * DN and no password as an anonymous bind that succeeds (RFC 4513 §5.1.2, "unauthenticated").
 * Successes are remembered for a minute (keyed by a hash, never the password), so a push's
 * dozens of requests do not cost two binds and a search each; failures are never cached.
 */
import { createHash } from "node:crypto";
import type { ConnectionOptions } from "node:tls";
import type { LdapSettings } from "@berth/config";
import { Client, InvalidCredentialsError } from "ldapts";

export type LdapProviderOptions = Omit<LdapSettings, "caCertFile" | "skipVerify"> & {
  /** For ldaps:// and StartTLS: CA bundle and whether to verify the server's certificate. */
  tls: ConnectionOptions;
  /** Bound on each directory operation. */
  timeoutMs?: number;
  /** How long a successful check is remembered. */
  cacheMs?: number;
};

/** The directory could not be asked (down, TLS failure, bad search account): not a wrong password. */
export class DirectoryUnavailable extends Error {
  override readonly name = "DirectoryUnavailable";
}

const MAX_CACHED = 10_000;

export class LdapAuthenticator {
  private readonly verified = new Map<string, { groups: string[]; until: number }>();

  constructor(private readonly options: LdapProviderOptions) {}

  /** The user's groups when user and password are right; undefined when they are not. */
  async verify(user: string, password: string): Promise<{ groups: string[] } | undefined> {
    if (user === "" || password === "") return undefined;
    const key = createHash("sha256").update(user).update("\0").update(password).digest("base64");
    const cached = this.verified.get(key);
    if (cached && cached.until > Date.now()) return { groups: cached.groups };
    const groups = await this.check(user, password);
    if (groups === undefined) return undefined;
    if (this.verified.size >= MAX_CACHED) this.verified.clear();
    this.verified.set(key, { groups, until: Date.now() + (this.options.cacheMs ?? 60_000) });
    return { groups };
  }

  private async check(user: string, password: string): Promise<string[] | undefined> {
    const o = this.options;
    const timeout = o.timeoutMs ?? 10_000;
    // ldapts opens TLS at connect whenever tlsOptions are given, so only for ldaps://.
    const ldaps = o.url.startsWith("ldaps:");
    const client = new Client({ url: o.url, timeout, connectTimeout: timeout, ...(ldaps ? { tlsOptions: o.tls } : {}) });
    try {
      // Without a host, the certificate would be checked against "localhost".
      if (o.startTLS) await client.startTLS({ host: new URL(o.url).hostname.replace(/^\[|\]$/g, ""), ...o.tls });
      if (o.bindDN !== undefined) await client.bind(o.bindDN, o.bindPassword ?? "");
      const attributes = o.userGroupAttribute ? [o.userGroupAttribute] : ["1.1"];
      const { searchEntries } = await client.search(o.baseDN, {
        scope: o.subtreeSearch ? "sub" : "one",
        filter: userFilter(o.userAttribute, user, o.userFilter),
        attributes,
        sizeLimit: 2,
      });
      // None, or an ambiguous name: nobody to bind as.
      if (searchEntries.length !== 1) return undefined;
      const entry = searchEntries[0]!;
      try {
        await client.bind(entry.dn, password);
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return undefined;
        throw err;
      }
      return o.userGroupAttribute ? values(entry[o.userGroupAttribute]) : [];
    } catch (err) {
      throw new DirectoryUnavailable(`LDAP ${o.url}: ${(err as Error).message}`, { cause: err });
    } finally {
      await client.unbind().catch(() => {});
    }
  }
}

/** `(uid=<user>)`, and'ed with the configured filter; the name escaped as RFC 4515 asks. */
function userFilter(attribute: string, user: string, extra: string | undefined): string {
  const match = `(${attribute}=${escapeFilterValue(user)})`;
  if (!extra) return match;
  return `(&${match}${extra.startsWith("(") ? extra : `(${extra})`})`;
}

export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

function values(attribute: unknown): string[] {
  const list = Array.isArray(attribute) ? attribute : attribute === undefined ? [] : [attribute];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v)));
}

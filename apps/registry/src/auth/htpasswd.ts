import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";

/**
 * htpasswd with bcrypt entries (`$2y$`, `$2a$`, `$2b$`, as `htpasswd -B` writes). Other schemes
 * are skipped at load, with their user names reported so the operator sees it.
 */
export interface HtpasswdFile {
  users: Map<string, string>;
  /** Users whose entries were not bcrypt and are therefore ignored. */
  skipped: string[];
}

const BCRYPT_ENTRY = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function parseHtpasswd(text: string): HtpasswdFile {
  const users = new Map<string, string>();
  const skipped: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (BCRYPT_ENTRY.test(hash)) users.set(user, hash);
    else skipped.push(user);
  }
  return { users, skipped };
}

/** Bounds the memory of remembered successful logins. */
const MAX_CACHED = 10_000;

/**
 * Checks user + password. bcrypt is deliberately slow (tens of ms), so a successful check is
 * remembered, keyed by a SHA-256 of user and password (the password itself is never stored), so
 * authenticated manifest traffic is not throttled by it. Failures are never cached.
 */
export class HtpasswdAuthenticator {
  private readonly verified = new Set<string>();

  constructor(private readonly file: HtpasswdFile) {}

  async verify(user: string, password: string): Promise<boolean> {
    const stored = this.file.users.get(user);
    if (!stored) return false;
    const key = createHash("sha256").update(user).update("\0").update(password).update("\0").update(stored).digest("base64");
    if (this.verified.has(key)) return true;
    // $2y$ is PHP's name for the same algorithm as $2b$ (bcryptjs knows $2a$/$2b$).
    const hash = stored.startsWith("$2y$") ? `$2b$${stored.slice(4)}` : stored;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.verified.size >= MAX_CACHED) this.verified.clear();
      this.verified.add(key);
    }
    return ok;
  }
}

/** Credentials from `Authorization: Basic …`, or undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

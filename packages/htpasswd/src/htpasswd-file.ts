/**
 * htpasswd files as Apache's `htpasswd -B` writes them: `user:$2y$…` lines, `#` comments and
 * blank lines allowed. Only bcrypt is accepted, as zot's htpasswd auth compares with Go's bcrypt
 * package: MD5 (`$apr1$`), SHA1 (`{SHA}`), crypt and plain entries are refused at load, naming
 * the file and line, rather than silently never matching.
 */
export class HtpasswdError extends Error {
  override readonly name = "HtpasswdError";
  readonly code = "HTPASSWD_INVALID";
}

const BCRYPT = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

export interface HtpasswdEntries {
  /** user → bcrypt hash as written. */
  users: Map<string, string>;
  /** The highest cost factor in the file: what a check for an unknown user must cost too. */
  maxCost: number;
}

/** `source` names the file in errors (a path; never a line's content, which holds a hash). */
export function parseHtpasswd(text: string, source: string): HtpasswdEntries {
  const users = new Map<string, string>();
  let maxCost = 0;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    const match = colon > 0 ? BCRYPT.exec(line.slice(colon + 1)) : null;
    if (!match) {
      throw new HtpasswdError(
        `${source} line ${i + 1}: expected user:<bcrypt hash>; only bcrypt entries are supported (create them with htpasswd -B)`,
      );
    }
    const user = line.slice(0, colon);
    if (users.has(user)) throw new HtpasswdError(`${source} line ${i + 1}: user ${JSON.stringify(user)} appears twice`);
    users.set(user, line.slice(colon + 1));
    maxCost = Math.max(maxCost, Number(match[1]));
  }
  if (users.size === 0) throw new HtpasswdError(`${source}: no users`);
  return { users, maxCost };
}

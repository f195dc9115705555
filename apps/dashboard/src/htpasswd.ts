/**
 * htpasswd files as Apache's `htpasswd -B` writes them: `user:$2y$…` lines. Only bcrypt is
 * accepted — MD5 (`$apr1$`), SHA1 (`{SHA}`) and crypt entries are refused at start-up rather than
 * silently never matching.
 */
export class HtpasswdError extends Error {
  override readonly name = "HtpasswdError";
  readonly code = "HTPASSWD_INVALID";
}

const BCRYPT = /^\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function parseHtpasswd(text: string, source = "htpasswd"): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (colon <= 0 || !BCRYPT.test(hash)) {
      throw new HtpasswdError(`${source} line ${i + 1}: expected user:<bcrypt hash> (create entries with htpasswd -B)`);
    }
    users.set(user, hash);
  }
  if (users.size === 0) throw new HtpasswdError(`${source}: no users`);
  return users;
}

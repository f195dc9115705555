import type { IncomingMessage, ServerResponse } from "node:http";
import { type FailureLimiter, HashPoolBusyError, type Htpasswd } from "@berth/htpasswd";
import { OciError } from "@berth/oci";
import { parseBasicAuth } from "./basic-credentials.js";

/** Resolves to the authenticated user name; throws UNAUTHORIZED (401) or TOOMANYREQUESTS (429). */
export type Authenticate = (req: IncomingMessage, res: ServerResponse) => Promise<string>;

/**
 * Basic auth against htpasswd. Remembered credentials pass without bcrypt, so a client address
 * that is refused for failed attempts still serves its users who logged in before. Everything
 * else is checked against the limiter first: an address past its failed-attempt limit gets 429
 * with Retry-After and costs no bcrypt. Requests without credentials (a client's first probe,
 * answered with the challenge) are not failures.
 */
export function htpasswdAuth(htpasswd: Htpasswd, limiter: FailureLimiter): Authenticate {
  return async (req, res) => {
    const credentials = parseBasicAuth(req.headers.authorization);
    if (!credentials) throw new OciError("UNAUTHORIZED", undefined, { detail: {} });
    const { user, password } = credentials;
    if (htpasswd.remembers(user, password)) return user;
    const address = req.socket.remoteAddress ?? "";
    const wait = limiter.retryAfterSeconds(address);
    if (wait > 0) throw tooMany(res, wait, "too many failed logins from this address");
    let ok: boolean;
    try {
      ok = await htpasswd.verify(user, password);
    } catch (err) {
      if (err instanceof HashPoolBusyError) throw tooMany(res, 1, "too many logins being checked");
      throw err;
    }
    if (ok) return user;
    limiter.recordFailure(address);
    throw new OciError("UNAUTHORIZED", undefined, { detail: {} });
  };
}

function tooMany(res: ServerResponse, seconds: number, message: string): OciError {
  res.setHeader("Retry-After", String(seconds));
  return new OciError("TOOMANYREQUESTS", message, { detail: { retryAfter: seconds } });
}

import { createHash, timingSafeEqual } from "node:crypto";
import { type FailureLimiter, HashPoolBusyError, PasswordCheckAbandoned, parseBasicAuth } from "@berth/htpasswd";
import type { NextFunction, Request, RequestHandler, Response } from "express";

/**
 * HTTP Basic authentication (RFC 7617) for the whole dashboard, with the registry's header parser
 * and its failed-login policy: remembered logins pass; an address past `limiter`'s limit gets 429
 * with Retry-After before any password check; every other failure counts against its address.
 * Verifiers are checked in constant time (a configured password) or by @berth/htpasswd (bcrypt
 * off the event loop, unknown users at the same cost, successes remembered for Bull Board's polling).
 */
export interface Verifier {
  verify(user: string, password: string, signal?: AbortSignal): Promise<boolean>;
  /** Verified recently (no password check needed): passes even from a refused address. */
  remembers?(user: string, password: string): boolean;
}

const REALM = 'Basic realm="berth dashboard", charset="UTF-8"';

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A single user from the config (`dashboard.auth.username` / `password`). */
export function passwordVerifier(username: string, password: string): Verifier {
  const expected = digest(`${username}\0${password}`);
  return { verify: async (user, pass) => timingSafeEqual(digest(`${user}\0${pass}`), expected) };
}

export function basicAuth(verifier: Verifier, limiter: FailureLimiter): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = parseBasicAuth(req.headers.authorization);
    const deny = () => res.status(401).set("WWW-Authenticate", REALM).type("text/plain").send("authentication required\n");
    const tooMany = (seconds: number, why: string) => res.status(429).set("Retry-After", String(seconds)).type("text/plain").send(`${why}\n`);
    if (!given) {
      deny();
      return;
    }
    if (verifier.remembers?.(given.user, given.password)) {
      next();
      return;
    }
    const address = req.socket.remoteAddress ?? "";
    const wait = limiter.retryAfterSeconds(address);
    if (wait > 0) {
      tooMany(wait, "too many failed logins from this address");
      return;
    }
    // A check still waiting for a bcrypt thread is dropped when the client hangs up.
    const left = new AbortController();
    const onClose = () => left.abort();
    req.socket.once("close", onClose);
    verifier
      .verify(given.user, given.password, left.signal)
      .finally(() => req.socket.off("close", onClose))
      .then(
        (ok) => {
          if (ok) return next();
          limiter.recordFailure(address);
          deny();
        },
        (err) => {
          if (err instanceof PasswordCheckAbandoned) return;
          if (err instanceof HashPoolBusyError) tooMany(1, "too many logins being checked");
          else next(err);
        },
      );
  };
}
